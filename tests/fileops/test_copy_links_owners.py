"""Symlinks in sources, escapes from the context, --chown, --chmod, --from trees, heredocs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from dockyard.errors import BuildError
from dockyard.solver.fileops.copy import apply_copy
from dockyard.solver.fileops.plan import CopySpec, InlineFile, prepare_copy
from dockyard.solver.fileops.tree import SourceTree

PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\n"
GROUP = "root:x:0:\nstaff:x:50:app\napp:x:1001:\n"


def test_named_symlink_source_is_followed(copier: Any) -> None:
    copier.make(copier.context, {"real.txt": "R", "link.txt": "->real.txt"})
    result = copier("link.txt", dest="/d/")
    assert result["d/link.txt"] == "f 644 0:0 R"  # the link's name, the target's content


def test_named_symlink_to_directory_copies_its_contents(copier: Any) -> None:
    copier.make(copier.context, {"real/a": "A", "alias": "->real"})
    result = copier("alias", dest="/d/")
    assert result["d/a"].endswith(" A")


def test_symlinks_inside_a_directory_stay_links(copier: Any) -> None:
    copier.make(copier.context, {"dir/a": "A", "dir/rel": "->a", "dir/abs": "->/etc/passwd"})
    result = copier("dir", dest="/d/")
    assert result["d/rel"] == "l 777 0:0 ->a"
    assert result["d/abs"] == "l 777 0:0 ->/etc/passwd"


def test_wildcard_matching_a_symlink_follows_it(copier: Any) -> None:
    copier.make(copier.context, {"t/real": "R", "m1": "->t/real", "m2": "M2"})
    result = copier("m*", dest="/w/")
    assert result["w/m1"] == "f 644 0:0 R"
    assert result["w/m2"] == "f 644 0:0 M2"


def test_dotdot_cannot_leave_the_context(copier: Any, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("outside")
    copier.make(copier.context, {"a": "A"})
    with pytest.raises(BuildError) as raised:
        copier("../secret", dest="/x")
    assert raised.value.message == '"/secret": not found'
    assert "cannot leave the build context" in (raised.value.hint or "")


def test_symlink_cannot_leave_the_context(copier: Any, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("outside")
    copier.make(copier.context, {"up": "->../secret", "abs": f"->{tmp_path}/secret"})
    for source in ("up", "abs"):
        with pytest.raises(BuildError) as raised:
            copier(source, dest="/x")
        assert "not found" in raised.value.message
        assert "symlinks are resolved inside the build context" in (raised.value.hint or "")
    assert not (copier.root / "x").exists()


def test_symlink_escape_is_clamped_to_the_context_root(copier: Any, tmp_path: Path) -> None:
    # BuildKit resolves links as if the context were "/": ../../a is the context's /a.
    copier.make(copier.context, {"a": "inside", "sub/up": "->../../a"})
    result = copier("sub/up", dest="/x")
    assert result["x"] == "f 644 0:0 inside"


def _image_root(root: Path, copier: Any) -> None:
    copier.make(root, {"etc/passwd": PASSWD, "etc/group": GROUP})


@pytest.mark.parametrize(
    ("chown", "owner"),
    [
        ("app", "1000:1001"),
        ("app:staff", "1000:50"),
        ("1234", "1234:1234"),
        ("1234:staff", "1234:50"),
        ("app:77", "1000:77"),
        ("nosuchuser", "0:0"),  # BuildKit: a name not in the image resolves to 0
        (":staff", "0:50"),  # no user part: uid 0, then the group
        ("app:", "1000:0"),  # empty group part: gid 0 (Docker 20.10's BuildKit)
    ],
)
def test_chown_names_come_from_the_image(copier: Any, chown: str, owner: str) -> None:
    _image_root(copier.root, copier)
    copier.make(copier.context, {"d/f": "F"})
    result = copier("d", dest="/new/sub/", chown=chown)
    assert result["new/sub/f"].split()[2] == owner
    assert result["new"].split()[2] == owner  # created parents take the owner too
    assert result["etc"].split()[2] == "0:0"


def test_chown_reads_passwd_through_symlinks_inside_the_image(copier: Any) -> None:
    copier.make(copier.root, {"real/passwd": PASSWD, "real/group": GROUP, "etc": "->/real"})
    copier.make(copier.context, {"f": "F"})
    result = copier("f", dest="/o", chown="app:staff")
    assert result["o"].split()[2] == "1000:50"


def test_chown_for_link_uses_the_given_user_root(copier: Any, tmp_path: Path) -> None:
    base = tmp_path / "base"
    _image_root(base, copier)
    copier.make(copier.context, {"f": "F"})
    plan = copier.plan("f", dest="/o", chown="app")
    apply_copy(plan, copier.root, user_root=base)
    assert copier.listing(copier.root)["o"].split()[2] == "1000:1001"


def test_chmod_applies_to_files_and_copied_directories(copier: Any) -> None:
    copier.make(copier.context, {"d/f": "F", "d/sub/g": "G"})
    result = copier("d", dest="/o/", chmod="640")
    assert result["o/f"].startswith("f 640 ")
    assert result["o/sub"].startswith("d 640 ")
    assert result["o"].startswith("d 755 ")  # created by MkdirAll
    result = copier("d", dest="/s/", chmod="a+X,u+w")
    assert result["s/f"].startswith("f 644 ")
    assert result["s/sub"].startswith("d 755 ")


def test_copy_from_a_stage_keeps_owners(tmp_path: Path, copier: Any) -> None:
    stage = tmp_path / "stage"
    copier.make(stage, {"app/bin": "BIN", "app/lib/x": "X"})
    os.lchown(stage / "app/bin", 33, 44)
    plan = prepare_copy(CopySpec(("/app/bin", "/app/lib"), "/opt/"), SourceTree.live(stage))
    apply_copy(plan, copier.root)
    result = copier.listing(copier.root)
    assert result["opt/bin"] == "f 644 33:44 BIN"
    assert result["opt/x"] == "f 644 0:0 X"


def test_heredoc_sources(copier: Any) -> None:
    copier.make(copier.context, {})
    spec = CopySpec((), "/scripts/", contents=(InlineFile("run.sh", b"echo hi\n"),), chmod="755")
    apply_copy(prepare_copy(spec, copier.tree()), copier.root)
    spec = CopySpec((), "/etc/motd", contents=(InlineFile("EOF", b"hello\n"),))
    apply_copy(prepare_copy(spec, copier.tree()), copier.root)
    result = copier.listing(copier.root)
    assert result["scripts/run.sh"] == "f 755 0:0 echo hi\n"
    assert result["etc/motd"] == "f 644 0:0 hello\n"


def test_url_source_refused_for_copy(copier: Any) -> None:
    copier.make(copier.context, {})
    with pytest.raises(BuildError, match="source can't be a URL for COPY"):
        copier.plan("http://127.0.0.1/x", dest="/x")
    with pytest.raises(BuildError, match="checksum can't be specified for COPY"):
        copier.plan("a", dest="/x", checksum="sha256:" + "0" * 64)


def test_from_stage_symlinks_resolve_inside_the_stage(tmp_path: Path, copier: Any) -> None:
    stage = tmp_path / "stage"
    copier.make(stage, {"etc/passwd": "stage passwd", "app/abs": "->/etc/passwd"})
    copier.make(stage, {"app/up": "->../../../../etc/passwd"})
    for source in ("/app/abs", "/app/up", "../../etc/passwd"):
        plan = prepare_copy(CopySpec((source,), "/got"), SourceTree.live(stage))
        apply_copy(plan, copier.root)
        assert (copier.root / "got").read_text() == "stage passwd"
