"""COPY destination rules, as BuildKit (dockerfile2llb + fsutil's copier) applies them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from dockyard.errors import BuildError
from dockyard.solver.fileops.plan import destination_path


@pytest.mark.parametrize(
    ("dest", "workdir", "expected"),
    [
        ("/app", "/", "/app"),
        ("/app/", "/", "/app/"),
        ("app", "/srv", "/srv/app"),
        ("app/", "/srv", "/srv/app/"),
        (".", "/srv", "/srv/"),
        ("./", "/srv", "/srv/"),
        ("", "/srv", "/srv/"),
        ("../x", "/srv/a", "/srv/x"),
        ("/../../x", "/", "/x"),
        ("/a//b/./c/", "/", "/a/b/c/"),
    ],
)
def test_destination_path(dest: str, workdir: str, expected: str) -> None:
    assert destination_path(dest, workdir) == expected


def test_file_to_missing_path_becomes_that_file(copier: Any) -> None:
    copier.make(copier.context, {"a.txt": "A"})
    result = copier("a.txt", dest="/target")
    assert result["target"] == "f 644 0:0 A"


def test_file_to_trailing_slash_goes_inside(copier: Any) -> None:
    copier.make(copier.context, {"a.txt": "A"})
    result = copier("a.txt", dest="/newdir/")
    assert result["newdir"] == "d 755 0:0"
    assert result["newdir/a.txt"] == "f 644 0:0 A"


def test_file_to_existing_directory_goes_inside(copier: Any) -> None:
    copier.make(copier.context, {"a.txt": "A"})
    (copier.root / "existing").mkdir(mode=0o700)
    result = copier("a.txt", dest="/existing")
    assert result["existing/a.txt"] == "f 644 0:0 A"
    assert result["existing"] == "d 700 0:0"  # an existing directory keeps its mode


def test_directory_copies_its_contents(copier: Any) -> None:
    copier.make(copier.context, {"src/a": "A", "src/sub/b": "B"})
    os.chmod(copier.context / "src", 0o750)
    os.chmod(copier.context / "src/sub", 0o700)
    result = copier("src", dest="/dest")
    assert "dest/src" not in result
    assert result["dest"] == "d 755 0:0"  # created by MkdirAll, not from the source dir
    assert result["dest/a"] == "f 644 0:0 A"
    assert result["dest/sub"] == "d 700 0:0"  # nested directories keep their mode
    assert result["dest/sub/b"] == "f 644 0:0 B"


def test_directory_merges_into_existing_directory(copier: Any) -> None:
    copier.make(copier.context, {"src/new": "N", "src/same": "S2"})
    copier.make(copier.root, {"dest/old": "O", "dest/same": "S1"})
    result = copier("src", dest="/dest/")
    assert result["dest/old"].endswith(" O")
    assert result["dest/new"].endswith(" N")
    assert result["dest/same"].endswith(" S2")


def test_multiple_sources_into_directory(copier: Any) -> None:
    copier.make(copier.context, {"a": "A", "b": "B"})
    result = copier("a", "b", dest="/d/")
    assert result["d/a"].endswith(" A") and result["d/b"].endswith(" B")


def test_multiple_sources_without_slash_last_wins_like_buildkit(copier: Any) -> None:
    copier.make(copier.context, {"a": "A", "b": "B"})
    result = copier("a", "b", dest="/d")
    assert result["d"] == "f 644 0:0 B"


def test_relative_destination_uses_workdir(copier: Any) -> None:
    copier.make(copier.context, {"a": "A"})
    result = copier("a", dest="rel/", workdir="/work/dir")
    assert result["work/dir/rel/a"].endswith(" A")
    result = copier("a", dest=".", workdir="/w2")
    assert result["w2/a"].endswith(" A")


def test_created_parents_are_0755_root(copier: Any) -> None:
    copier.make(copier.context, {"a": "A"})
    os.umask(0o077)
    try:
        result = copier("a", dest="/x/y/z/file")
    finally:
        os.umask(0o022)
    assert result["x"] == result["x/y"] == result["x/y/z"] == "d 755 0:0"


def test_file_replaces_existing_file_and_symlink(copier: Any) -> None:
    copier.make(copier.context, {"a": "new"})
    copier.make(copier.root, {"d/a": "old", "e/a": "->/etc/passwd"})
    result = copier("a", dest="/d/")
    assert result["d/a"] == "f 644 0:0 new"
    result = copier("a", dest="/e/")
    assert result["e/a"] == "f 644 0:0 new"


def test_file_cannot_replace_a_directory(copier: Any) -> None:
    copier.make(copier.context, {"a": "A"})
    copier.make(copier.root, {"d/a/": None})
    with pytest.raises(BuildError, match="cannot replace directory /d/a"):
        copier("a", dest="/d/")


def test_directory_cannot_replace_a_file(copier: Any) -> None:
    copier.make(copier.context, {"src/sub/x": "X"})
    copier.make(copier.root, {"d/sub": "file"})
    with pytest.raises(BuildError, match="not a directory"):
        copier("src", dest="/d/")


def test_mtimes_are_preserved(copier: Any) -> None:
    copier.make(copier.context, {"dir/f": "F"})
    os.utime(copier.context / "dir/f", (1_000_000, 1_000_000))
    os.utime(copier.context / "dir", (2_000_000, 2_000_000))
    copier("dir", dest="/out/")
    copier(".", dest="/all/")
    assert (copier.root / "out/f").stat().st_mtime == 1_000_000
    assert (copier.root / "all/dir").stat().st_mtime == 2_000_000


def test_context_owners_read_as_root(copier: Any) -> None:
    copier.make(copier.context, {"a": "A", "d/b": "B"})
    for path in ("a", "d", "d/b"):
        os.lchown(copier.context / path, 1234, 5678)
    result = copier(".", dest="/o/")
    assert result["o/a"].split()[2] == "0:0"
    assert result["o/d"].split()[2] == "0:0"


def test_hard_links_are_kept(copier: Any) -> None:
    copier.make(copier.context, {"d/one": "same"})
    os.link(copier.context / "d/one", copier.context / "d/two")
    copier("d", dest="/h/")
    one, two = (copier.root / "h/one").stat(), (copier.root / "h/two").stat()
    assert one.st_ino == two.st_ino


def test_destination_symlink_resolves_inside_the_root(copier: Any) -> None:
    copier.make(copier.context, {"a": "A"})
    copier.make(copier.root, {"real/": None, "link": "->/real", "abs": "->/etc"})
    result = copier("a", dest="/link/")
    assert result["real/a"].endswith(" A")
    result = copier("a", dest="/abs/escaped")
    assert result["etc/escaped"].endswith(" A")  # inside the root, never the host's /etc
    assert not Path("/etc/escaped").exists()


def test_empty_wildcard_match_copies_nothing(copier: Any) -> None:
    copier.make(copier.context, {"a.txt": "A"})
    result = copier("*.none", dest="/nothing/")
    assert result == {}


def test_missing_source_is_an_error(copier: Any) -> None:
    copier.make(copier.context, {"a.txt": "A"})
    with pytest.raises(BuildError, match='"/missing": not found'):
        copier("missing", dest="/x")


def test_special_bits_and_modes_kept(copier: Any) -> None:
    copier.make(copier.context, {"run": "#!/bin/sh", "d/": None})
    os.chmod(copier.context / "run", 0o4755)
    os.chmod(copier.context / "d", 0o1777)
    result = copier(".", dest="/m/")
    assert result["m/run"].startswith("f 4755 ")
    assert result["m/d"] == "d 1777 0:0"
