# Runs in the materialised context (sh -eu).
# build/ is in the repository's .gitignore, so it is made here.
mkdir build
echo o > build/out
