# Runs in the materialised context (sh -eu).
mkdir -p payload/sub
echo one > payload/one.txt
echo two > payload/sub/two.txt
ln -s one.txt payload/link
chmod 0600 payload/sub/two.txt
tar --numeric-owner --owner=123 --group=456 -cf plain.tar payload
tar --numeric-owner -czf archive.tar.gz payload
tar --numeric-owner -cjf archive.tar.bz2 payload
tar --numeric-owner -cJf archive.tar.xz payload
cp archive.tar.gz disguised.bin
echo not a tar > notatar.txt
gzip -n notatar.txt
rm -r payload
