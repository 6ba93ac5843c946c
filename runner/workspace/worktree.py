"""Make and remove one attempt's workspace: a git worktree on a runner-owned branch, or a copy.

``create`` returns a ``Workspace`` whose ``base`` is the commit its change is measured
against. A ``worktree`` is ``git worktree add --no-checkout -b runner/<run>/<step>/<agent>-<attempt>``
of the source's base (one at a time per repository: ``worktrees_locked``), then checked out
with ``read-tree -u`` in it (at the same time as the others); a ``copy`` copies the directory (without ``.git`` and runner's state
directory) and commits the copy in a repository of its own, so that both capture the same
way. ``readonly`` is a worktree (or copy) whose files are not writable; a change found in it
anyway fails the attempt. ``remove`` undoes ``create`` whatever state it is in.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import stat
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from runner.errors import WorkspaceError
from runner.workspace.git import git, text
from runner.workspace.snapshot import SNAPSHOT_MESSAGE, Source

MODES = ("worktree", "copy", "shared", "readonly")
BRANCH_PREFIX = "runner/"


@dataclass(frozen=True, kw_only=True)
class Workspace:
    path: Path  # the checkout's root
    cwd: Path  # where the agent starts (``path`` / the source's subdir)
    base: str  # the commit the change is measured against
    mode: str  # worktree | copy | readonly
    repo: Path | None = None  # the source repository (worktrees)
    branch: str | None = None  # the runner-owned branch (worktrees)

    def to_dict(self) -> dict[str, str | None]:
        return {"path": str(self.path), "mode": self.mode, "repo": str(self.repo) if self.repo else None,
                "branch": self.branch}


def ref_part(text_: str) -> str:
    """``text_`` made safe as one component of a branch name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text_).strip(".-") or "x"


def branch_name(run_id: str, step: str, name: str) -> str:
    return f"{BRANCH_PREFIX}{ref_part(run_id)}/{ref_part(step)}/{ref_part(name)}"


def create(source: Source, mode: str, path: Path, branch: str) -> Workspace:
    """A fresh workspace of ``source`` at ``path`` (which must not exist yet)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode in ("worktree", "readonly") and source.is_git:
        assert source.base is not None
        with worktrees_locked(source.root):  # the registration only: quick
            git(["worktree", "add", "--quiet", "--no-checkout", "-b", branch, str(path), source.base], source.root)
        git(["read-tree", "--reset", "-u", "HEAD"], path)  # the checkout, beside the others'
        ws = Workspace(path=path, cwd=path / source.subdir, base=source.base, mode=mode, repo=source.root,
                       branch=branch)
    else:
        ws = _copy(source, path, mode)
    if mode == "readonly":
        _read_only(ws.path)
    return ws


def _copy(source: Source, path: Path, mode: str) -> Workspace:
    skip = {source.root / e for e in source.exclude} | {source.root / ".git"}

    def ignore(folder: str, names: list[str]) -> set[str]:
        return {n for n in names if Path(folder) / n in skip}

    try:
        shutil.copytree(source.root, path, symlinks=True, ignore=ignore)
    except (OSError, shutil.Error) as exc:
        raise WorkspaceError(f"cannot copy {source.root} to a workspace: {exc}") from exc
    git(["init", "--quiet"], path)
    git(["add", "-A"], path)
    tree = text(["write-tree"], path)
    base = git(["commit-tree", tree], path, input=SNAPSHOT_MESSAGE).decode().strip()
    git(["update-ref", "HEAD", base], path)
    return Workspace(path=path, cwd=path / source.subdir, base=base, mode=mode)


def _read_only(root: Path) -> None:
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in [*files, *dirs]:
            p = Path(folder) / name
            if not p.is_symlink():
                mode = p.stat().st_mode
                p.chmod(mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def _writable(root: Path) -> None:
    for folder, dirs, files in os.walk(root):
        for name in [*files, *dirs]:
            p = Path(folder) / name
            with contextlib.suppress(OSError):
                if not p.is_symlink():
                    p.chmod(p.stat().st_mode | stat.S_IWUSR)


def remove(path: Path, repo: Path | None, branch: str | None) -> list[str]:
    """Remove a workspace (its worktree registration and branch too); problems as text."""
    problems: list[str] = []
    if path.exists():  # the files first, beside the others' (a worktree's .git is a file: no repository goes)
        _writable(path)
        shutil.rmtree(path, ignore_errors=True)
        if path.exists():
            problems.append(f"could not remove workspace {path}")
    if repo is not None and repo.is_dir():
        with worktrees_locked(repo):
            git(["worktree", "prune"], repo, check=False)  # the registration of a checkout that is gone
            if branch and text(["rev-parse", "-q", "--verify", f"refs/heads/{branch}"], repo, check=False):
                try:
                    git(["branch", "-D", "--quiet", branch], repo)
                except WorkspaceError as exc:
                    problems.append(str(exc))
    return problems


_GUARD = threading.Lock()
_REPO_LOCKS: dict[str, threading.Lock] = {}


@contextlib.contextmanager
def worktrees_locked(repo: Path) -> Iterator[None]:
    """One git command at a time that adds, lists or prunes ``repo``'s worktrees.

    git reads every registration (``.git/worktrees/*``) in ``worktree add``/``prune`` and
    ``branch -D`` and dies on one another process is still writing ("failed to read
    .git/worktrees/X/commondir"): eight agents starting at once hit it. A lock per repository
    in this process, and a ``flock`` of the repository's folder itself for other runner
    processes (another run, ``runner gc``): no lock file is made, so none is left behind."""
    root = str(Path(repo).resolve())
    with _GUARD:
        lock = _REPO_LOCKS.setdefault(root, threading.Lock())
    with lock:
        try:
            fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:  # gone or unreadable: git will say so; this process's lock still holds
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)
