"""Large binary files and submodules, with real git: a 20 MB binary goes through prepare,
capture (a binary patch), land branch and land apply byte for byte; a repository with a
submodule gets workspaces (the submodule's directory empty), a removed submodule lands as a
branch, and what cannot work says so: writing into a submodule's directory, applying a
submodule change to a working tree."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from gitrepo import fingerprint, git, leftovers, make_repo

from runner.errors import WorkspaceError
from runner.workspace.capture import SubmoduleWrite, capture, change_of
from runner.workspace.land import land_apply, land_branch
from runner.workspace.snapshot import snapshot
from runner.workspace.worktree import create, remove

BIG = 20 * 1024 * 1024


def test_a_20_mb_binary_is_captured_as_a_binary_patch_and_lands_byte_for_byte(tmp_path: Path) -> None:
    data = os.urandom(BIG)  # incompressible: the worst case for the patch's size
    repo = make_repo(tmp_path / "repo", {"big.bin": data, "README": "r\n"})
    source = snapshot(repo)
    ws = create(source, "worktree", tmp_path / "ws", "runner/t/s/a-1")
    assert (ws.path / "big.bin").read_bytes() == data
    changed = data[:1000] + b"patched by the agent" + data[1020:]
    (ws.path / "big.bin").write_bytes(changed)
    (ws.path / "small.bin").write_bytes(bytes(range(256)) * 4)
    change = capture(ws.path, ws.base)
    assert [(f.path, f.status, f.binary) for f in change.files] == [
        ("big.bin", "modified", True), ("small.bin", "added", True)]
    assert b"GIT binary patch" in change.patch and change.lines == 2
    assert change_of(change.patch).files == change.files  # read back from the journal the same
    remove(ws.path, ws.repo, ws.branch)

    before = fingerprint(repo)
    landed = land_branch(source, change, "big", "patch the blob")
    assert fingerprint(repo) == before
    assert git(repo, "cat-file", "-s", "big:big.bin").strip() == str(BIG)
    blob = git(repo, "rev-parse", "big:big.bin").strip()
    assert blob == _hash(tmp_path, changed) and landed["commit"]
    land_apply(source, change, force=False)
    assert (repo / "big.bin").read_bytes() == changed
    assert (repo / "small.bin").read_bytes() == bytes(range(256)) * 4
    assert leftovers(repo) == ([], [])


def _hash(tmp_path: Path, data: bytes) -> str:
    f = tmp_path / "expected.bin"
    f.write_bytes(data)
    return git(tmp_path, "hash-object", str(f)).strip()


@pytest.fixture
def with_submodule(tmp_path: Path) -> Path:
    lib = make_repo(tmp_path / "lib", {"lib.txt": "library\n"})
    repo = make_repo(tmp_path / "repo", {"app.txt": "app\n"})
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "vendor/lib")
    git(repo, "commit", "-qm", "add the submodule")
    assert (repo / "vendor/lib/lib.txt").is_file()
    return repo


def test_a_workspace_of_a_repository_with_a_submodule_leaves_it_empty_and_captures_the_rest(
        with_submodule: Path, tmp_path: Path) -> None:
    repo = with_submodule
    before = fingerprint(repo)
    source = snapshot(repo)
    ws = create(source, "worktree", tmp_path / "ws", "runner/t/s/a-1")
    assert (ws.path / "vendor/lib").is_dir() and os.listdir(ws.path / "vendor/lib") == []
    (ws.path / "app.txt").write_text("app, changed\n")
    change = capture(ws.path, ws.base)
    assert [(f.path, f.status, f.submodule) for f in change.files] == [("app.txt", "modified", False)]
    remove(ws.path, ws.repo, ws.branch)
    assert fingerprint(repo) == before and leftovers(repo) == ([], [])


def test_writing_into_a_submodules_directory_is_refused_by_name(with_submodule: Path, tmp_path: Path) -> None:
    source = snapshot(with_submodule)
    ws = create(source, "worktree", tmp_path / "ws", "runner/t/s/a-1")
    (ws.path / "vendor/lib/patched.txt").write_text("lost if not refused\n")
    with pytest.raises(SubmoduleWrite) as err:
        capture(ws.path, ws.base)
    assert "wrote into the submodule `vendor/lib` (vendor/lib/patched.txt)" in str(err.value)
    assert "not captured" in str(err.value)
    remove(ws.path, ws.repo, ws.branch)


def test_a_removed_submodule_lands_as_a_branch_and_apply_refuses_it_writing_nothing(
        with_submodule: Path, tmp_path: Path) -> None:
    repo = with_submodule
    source = snapshot(repo)
    ws = create(source, "worktree", tmp_path / "ws", "runner/t/s/a-1")
    shutil.rmtree(ws.path / "vendor/lib")
    (ws.path / ".gitmodules").unlink()
    change = capture(ws.path, ws.base)
    assert {(f.path, f.status, f.submodule) for f in change.files} == {
        (".gitmodules", "deleted", False), ("vendor/lib", "deleted", True)}
    remove(ws.path, ws.repo, ws.branch)
    before = fingerprint(repo)
    land_branch(source, change, "no-lib", "drop the submodule")
    assert git(repo, "ls-tree", "-r", "--name-only", "no-lib").split() == ["app.txt"]
    with pytest.raises(WorkspaceError) as err:
        land_apply(source, change, force=False)
    assert "submodule `vendor/lib`" in str(err.value) and "land it as a branch" in str(err.value)
    assert fingerprint(repo) == before  # nothing of it was applied
    assert (repo / "vendor/lib/lib.txt").is_file()
