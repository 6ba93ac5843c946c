"""Capture what an agent changed in its workspace, as a binary git patch against the base.

Everything in the workspace counts — edits, new files (untracked, not ignored), deletions,
renames, mode changes, binary files, a submodule removed — and commits the agent made itself
are looked through (files written into a submodule's directory, which a workspace leaves
empty, are refused: ``SubmoduleWrite``):
the patch is always ``base`` → the files as they are. The workspace's own index (each
worktree has one; copies have their own repository) is staged with ``git add -A``: the
user's index is a different file and is never touched.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from runner.errors import WorkspaceError
from runner.workspace.git import git, start
from runner.workspace.patch import FileChange, parse, stats


@dataclass(frozen=True, kw_only=True)
class Change:
    """One attempt's change; ``patch`` is empty when nothing changed."""

    patch: bytes
    files: tuple[FileChange, ...] = ()
    insertions: int = 0
    deletions: int = 0
    digest: str = field(default="")  # sha256 of the patch: identical changes share it

    @property
    def empty(self) -> bool:
        return not self.patch.strip()

    @property
    def lines(self) -> int:
        """Changed lines (a binary file counts as one)."""
        return self.insertions + self.deletions + sum(1 for f in self.files if f.binary)


class SubmoduleWrite(WorkspaceError):
    """The agent wrote into a submodule's (empty) directory: nothing there can be captured."""


DIFF = ("diff", "--cached", "--binary", "-M", "--no-ext-diff", "--no-textconv")


def capture(path: Path, base: str) -> Change:
    """The change in the workspace at ``path`` against commit ``base``."""
    _stage(path)
    return change_of(git([*DIFF, base], path))


def capture_to(path: Path, base: str, out: IO[bytes]) -> int:
    """The patch ``capture`` would make, written into the (empty) file ``out`` instead of held in
    memory (the agent server streams it back); its size in bytes."""
    _stage(path)
    with tempfile.TemporaryFile() as said:
        proc = start([*DIFF, base], path, stdout=out, stderr=said)
        if proc.wait() != 0:
            said.seek(0)
            lines = said.read().decode(errors="replace").strip().splitlines()
            raise WorkspaceError(f"git diff failed in {path}: {lines[-1] if lines else f'exit {proc.returncode}'}")
    return os.fstat(out.fileno()).st_size


def _stage(path: Path) -> None:
    git(["add", "-A"], path)
    if (path / ".gitmodules").is_file():
        _nothing_in_submodules(path)


def _nothing_in_submodules(path: Path) -> None:
    """Submodules are not checked out in a workspace; ``git add -A`` passes over what an agent
    writes in their directories without a word, so runner says so instead."""
    for entry in git(["ls-files", "--stage", "-z"], path).split(b"\0"):
        if not entry.startswith(b"160000 "):
            continue
        rel = entry.split(b"\t", 1)[1].decode(errors="surrogateescape")
        folder = path / rel
        inside = sorted(os.listdir(folder)) if folder.is_dir() and not folder.is_symlink() else []
        if inside:
            raise SubmoduleWrite(f"the agent wrote into the submodule `{rel}` ({rel}/{inside[0]}): submodules "
                                 "are not checked out in a workspace and what is written in them is not captured")


def change_of(patch: bytes) -> Change:
    """A ``Change`` for a patch made elsewhere (a remote agent's)."""
    files = parse(patch)
    ins, dels = stats(files)
    return Change(patch=patch, files=tuple(files), insertions=ins, deletions=dels,
                  digest=hashlib.sha256(patch).hexdigest() if patch.strip() else "")
