"""Fuzzing what crosses the wire with a remote agent's workspace: whatever archive a caller
sends, whatever patch a server answers, whatever JSON carries them, the result is the thing
itself or a clear error of runner's own (``TransferError`` / ``Malformed``), never another
exception, and nothing is ever written outside the directory it belongs to.

Archives are built from a hostile vocabulary (``..``, ``.git`` in any case, absolute paths,
symlinks in and out, hard links, devices, FIFOs) and mutated at the byte level (truncated,
flipped); patches from the same vocabulary plus garbage. Deterministic in CI like the other
fuzz tests (tests/conftest.py).
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import tempfile
from pathlib import Path

import pytest
from gitrepo import make_repo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lanes import examples

from runner.protocol import wire
from runner.workspace.transfer import Archive, TransferError, apply
from runner.workspace.unpack import received

PARTS = ["a", "b", "..", ".", ".git", ".GIT", "hooks", "link", "", "x y", "\u00e9"]
TARGETS = ["a", "../a", "../../etc", "/etc", "link", ".git", "b/../..", "."]
KINDS = [tarfile.REGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.FIFOTYPE, tarfile.CHRTYPE]
FUZZ = settings(max_examples=int(os.environ.get("RUNNER_FUZZ_EXAMPLES", examples(80))),
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

names = st.lists(st.sampled_from(PARTS), min_size=1, max_size=4).map("/".join) | \
    st.sampled_from(["/abs/file", "./a", "a/", "//x"])
members = st.lists(st.tuples(names, st.sampled_from(KINDS), st.sampled_from(TARGETS), st.binary(max_size=64)),
                   max_size=6)


def _tar(entries: list[tuple[str, bytes, str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, kind, target, data in entries:
            info = tarfile.TarInfo(name)
            info.type, info.linkname = kind, target
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return buf.getvalue()


@st.composite
def archives(draw: st.DrawFn) -> bytes:
    data = _tar(draw(members))
    how = draw(st.sampled_from(["as is", "truncated", "flipped", "garbage"]))
    if how == "truncated":
        return data[:draw(st.integers(0, len(data)))]
    if how == "flipped":
        i = draw(st.integers(0, len(data) - 1))
        return data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1:]
    if how == "garbage":
        return draw(st.binary(max_size=200))
    return data


def _tree(root: Path) -> dict[str, str]:
    out = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            p = Path(folder) / name
            out[str(p.relative_to(root))] = "link" if p.is_symlink() else hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """tempfile's directory inside ``tmp_path/tmp``; ``tmp_path/outside`` must stay empty."""
    (tmp_path / "tmp").mkdir()
    (tmp_path / "outside").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return tmp_path


@FUZZ
@given(data=archives())
def test_any_archive_unpacks_inside_its_directory_or_is_refused(sandbox, data) -> None:
    try:
        with received(Archive.of(data, cwd="a"), limit=1 << 16) as (root, cwd, _base):
            assert root in cwd.parents or cwd == root
            for folder, dirs, files in os.walk(root):
                for name in [*dirs, *files]:
                    p = Path(folder) / name
                    if p.is_symlink():  # every symlink stays inside
                        assert Path(os.path.realpath(p)).is_relative_to(root), p
                    assert ".git" not in p.relative_to(root).parts[1:] and \
                        (p.relative_to(root).parts[0] != ".git" or (root / ".git").is_dir())
    except TransferError as exc:
        assert str(exc) and "\n" not in str(exc)
    assert list((sandbox / "tmp").iterdir()) == [] and list((sandbox / "outside").iterdir()) == []


paths = st.lists(st.sampled_from(PARTS), min_size=1, max_size=3).map("/".join)


@st.composite
def patches(draw: st.DrawFn) -> bytes:
    out = []
    for _ in range(draw(st.integers(1, 3))):
        path = draw(paths)
        kind = draw(st.sampled_from(["new", "symlink", "modify", "rename", "garbage"]))
        if kind == "new":
            out.append(f"diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n"
                       f"@@ -0,0 +1 @@\n+{draw(st.text(max_size=10))}\n")
        elif kind == "symlink":
            target = draw(st.sampled_from(TARGETS))
            out.append(f"diff --git a/{path} b/{path}\nnew file mode 120000\n--- /dev/null\n+++ b/{path}\n"
                       f"@@ -0,0 +1 @@\n+{target}\n\\ No newline at end of file\n")
        elif kind == "modify":
            out.append(f"diff --git a/f.txt b/{path}\n--- a/f.txt\n+++ b/{path}\n@@ -1 +1 @@\n-1\n+2\n")
        elif kind == "rename":
            out.append(f"diff --git a/f.txt b/{path}\nsimilarity index 100%\nrename from f.txt\nrename to {path}\n")
        else:
            out.append(draw(st.text(max_size=80)))
    return "".join(out).encode("utf-8", "surrogateescape")


@pytest.fixture(scope="module")
def seed_repo(tmp_path_factory) -> Path:
    return make_repo(tmp_path_factory.mktemp("seed") / "repo", {"f.txt": "1\n", "b/keep": "k\n"})


@FUZZ
@given(patch=patches())
def test_any_patch_from_a_server_applies_inside_the_checkout_or_is_refused(sandbox, seed_repo, patch) -> None:
    import shutil

    root = Path(tempfile.mkdtemp(dir=sandbox))
    try:
        shutil.copytree(seed_repo, root, dirs_exist_ok=True, symlinks=True)
        (root / "link").symlink_to(sandbox / "outside")  # a symlink out, already there
        git_before = _tree(root / ".git")
        try:
            apply(root, patch)
        except TransferError as exc:
            assert str(exc)
        assert _tree(root / ".git") == git_before
        assert list((sandbox / "outside").iterdir()) == []
    finally:
        shutil.rmtree(root)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                       max_size=3), max_leaves=8)
archive_json = st.fixed_dictionaries({}, optional={
    "format": st.sampled_from(["tar+gzip", "zip", ""]) | json_values,
    "data": st.sampled_from(["", "AAAA", "not base64!", "=="]) | json_values, "cwd": json_values})


@FUZZ
@given(archive=archive_json | json_values, workspace=st.none() | st.text(max_size=10),
       change=st.none() | json_values | st.fixed_dictionaries({"size": json_values | st.integers()}))
def test_any_workspace_json_is_read_or_malformed(archive, workspace, change) -> None:
    body = {"taskId": "t", "description": "d", "workspaceArchive": archive, "workspace": workspace}
    for source in (None, io.BytesIO(b"")):  # a plain task (no archive since protocol 3), a streamed one
        try:
            request = wire.request_from_json(body, source)
            assert request.archive is None if source is None else request.archive.source is source
        except wire.Malformed as exc:
            assert str(exc)
    try:
        reply = {"taskId": "t", "result": 1, "change": change}
        assert wire.result_from_json(reply).patch is None
        size = wire.change_size(reply)
        assert size is None or (isinstance(size, int) and size >= 0)
    except wire.Malformed as exc:
        assert str(exc)
