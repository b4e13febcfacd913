# Runs in the materialised context (sh -eu).
long=dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd
mkdir -p "$long/$long"
echo deep > "$long/$long/$long.txt"
ln -s "$long/$long/$long.txt" link-with-a-very-long-target-name
