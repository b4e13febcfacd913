# Runs in the materialised context (sh -eu).
mkdir -p payload/sub
echo one > payload/one.txt
echo two > payload/sub/two.txt
ln payload/one.txt payload/one-hardlink
tar --numeric-owner -czf archive.tar.gz payload
rm -r payload
