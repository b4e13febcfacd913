# Runs in the materialised context (sh -eu).
python3 - <<'EOF'
import io, tarfile
with tarfile.open("odd.tar", "w", format=tarfile.PAX_FORMAT) as tar:
    def add(name, data=b"", kind=tarfile.REGTYPE, link="", mode=0o644):
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.mode, info.size = kind, link, mode, len(data)
        info.mtime = 1700000000
        tar.addfile(info, io.BytesIO(data) if data else None)
    add("./dotted/file", b"d")
    add("/absolute/file", b"a")
    add("nested/deep/file", b"n")
    add("nested/link", kind=tarfile.SYMTYPE, link="deep/file")
    add("nested/hard", kind=tarfile.LNKTYPE, link="nested/deep/file")
    add("nested/", kind=tarfile.DIRTYPE, mode=0o750)
EOF
