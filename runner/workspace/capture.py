"""Capture what an agent changed in its workspace, as a binary git patch against the base.

Everything in the workspace counts — edits, new files (untracked, not ignored), deletions,
renames, mode changes, binary files — and commits the agent made itself are looked through:
the patch is always ``base`` → the files as they are. The workspace's own index (each
worktree has one; copies have their own repository) is staged with ``git add -A``: the
user's index is a different file and is never touched.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from runner.workspace.git import git
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


def capture(path: Path, base: str) -> Change:
    """The change in the workspace at ``path`` against commit ``base``."""
    git(["add", "-A"], path)
    patch = git(["diff", "--cached", "--binary", "-M", "--no-ext-diff", "--no-textconv", base], path)
    return change_of(patch)


def change_of(patch: bytes) -> Change:
    """A ``Change`` for a patch made elsewhere (a remote agent's)."""
    files = parse(patch)
    ins, dels = stats(files)
    return Change(patch=patch, files=tuple(files), insertions=ins, deletions=dels,
                  digest=hashlib.sha256(patch).hexdigest() if patch.strip() else "")
