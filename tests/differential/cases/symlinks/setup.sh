# Runs in the materialised context (sh -eu).
ln -s target.txt rel-link
ln -s /etc/passwd abs-link
ln -s does-not-exist dangling
ln -s dir dir-link
