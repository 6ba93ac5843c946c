"""The base a step's workspaces start from, taken without touching the user's tree or index.

``snapshot(path, ref, exclude)`` says where a step's agents work:

* in a git repository without ``ref``: the *current state*, uncommitted and untracked (not
  ignored) files included. It is staged into a temporary index (a copy of the real one, so
  git's stat cache saves re-reading unchanged files), written as a tree and, when it differs
  from ``HEAD``, committed as a dangling commit object whose parent is ``HEAD``. The user's
  working tree, index and refs are never written. A clean checkout's base is ``HEAD`` itself.
  The commit's dates are ``HEAD``'s: the same working state gives the same base commit (a
  resumed run recognises it: ``runner.resume.fingerprint``).
* in a git repository with ``ref``: that commit.
* a plain directory: no base commit; ``copy`` workspaces snapshot their own copy.

``exclude`` names directories inside the source that are never part of the base (runner's own
state directory: its journals and the workspaces themselves may live there).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from runner.errors import WorkspaceError
from runner.workspace.git import git, text, toplevel

SNAPSHOT_MESSAGE = b"runner: snapshot of the working tree (uncommitted and untracked files)\n"


@dataclass(frozen=True, kw_only=True)
class Source:
    """Where a step's workspaces come from."""

    root: Path  # the repository's work tree root, or the directory
    subdir: str = ""  # where in ``root`` the agents start (``from`` inside a repository), "" for the root
    base: str | None = None  # commit sha the workspaces start from (git sources)
    head: str | None = None  # HEAD when the snapshot was taken (None: unborn / not git)
    exclude: tuple[str, ...] = ()  # paths relative to ``root`` left out (runner's state directory)
    ref: str | None = None  # the commit asked for (``workspace.base``), None: the working state

    @property
    def is_git(self) -> bool:
        return self.base is not None


def snapshot(path: str | Path, ref: str | None = None, exclude: tuple[Path, ...] = ()) -> Source:
    """The ``Source`` for ``path`` (see the module docstring); ``WorkspaceError`` when it cannot be."""
    where = Path(path).expanduser().resolve()
    if not where.is_dir():
        raise WorkspaceError(f"workspace source {where} is not a directory")
    root = toplevel(where)
    if root is None:
        if ref is not None:
            raise WorkspaceError(f"workspace base `{ref}` needs a git repository; {where} is not in one")
        return Source(root=where, exclude=_inside(where, exclude))
    root = root.resolve()
    subdir = "" if where == root else str(where.relative_to(root))
    skip = _inside(root, exclude)
    head = text(["rev-parse", "-q", "--verify", "HEAD^{commit}"], root, check=False) or None
    if ref is not None:
        base = text(["rev-parse", "-q", "--verify", f"{ref}^{{commit}}"], root, check=False)
        if not base:
            raise WorkspaceError(f"workspace base `{ref}` is not a commit of {root}")
        return Source(root=root, subdir=subdir, base=base, head=head, exclude=skip, ref=ref)
    return Source(root=root, subdir=subdir, base=_working_state(root, head, skip), head=head, exclude=skip)


def _inside(root: Path, paths: tuple[Path, ...]) -> tuple[str, ...]:
    out = []
    for p in paths:
        try:
            rel = Path(p).resolve().relative_to(root)
        except ValueError:
            continue
        if str(rel) != ".":
            out.append(str(rel))
    return tuple(out)


def _working_state(root: Path, head: str | None, exclude: tuple[str, ...]) -> str:
    """A commit of the working tree as it is now (see the module docstring)."""
    git_dir = Path(text(["rev-parse", "--absolute-git-dir"], root))
    with tempfile.TemporaryDirectory(prefix="runner-snapshot-") as tmp:
        index = Path(tmp) / "index"
        if (git_dir / "index").is_file():
            # copy2: the copy keeps the index's mtime, which git compares with each file's to
            # re-read one edited in the same second as the index was written ("racily clean");
            # a fresh mtime made such an edit of the same size look unchanged
            shutil.copy2(git_dir / "index", index)
        env = {"GIT_INDEX_FILE": str(index)}
        spec = ["--", ".", *(f":(exclude,top){e}" for e in exclude)]
        git(["add", "-A", *spec], root, env=env)
        tree = text(["write-tree"], root, env=env)
    when = {}
    if head is not None:
        head_tree, _, date = text(["show", "-s", "--format=%T %ct", head], root).partition(" ")
        if head_tree == tree:
            return head
        when = {"GIT_AUTHOR_DATE": f"@{date} +0000", "GIT_COMMITTER_DATE": f"@{date} +0000"}
    parent = ["-p", head] if head is not None else []
    return git(["commit-tree", tree, *parent], root, env=when or {"GIT_AUTHOR_DATE": "@0 +0000",
                                                                  "GIT_COMMITTER_DATE": "@0 +0000"},
               input=SNAPSHOT_MESSAGE).decode().strip()


def is_dirty(root: Path, exclude: tuple[str, ...] = ()) -> bool:
    """Whether the work tree or index of ``root`` differs from HEAD (untracked files count)."""
    spec = ["--", ".", *(f":(exclude,top){e}" for e in exclude)]
    return bool(git(["status", "--porcelain", "--untracked-files=normal", *spec], root).strip())


__all__ = ["SNAPSHOT_MESSAGE", "Source", "is_dirty", "snapshot"]
