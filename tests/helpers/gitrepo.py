"""Real git repositories for the workspace tests, and a byte-for-byte fingerprint of a checkout."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@t"}


def git(repo: Path, *args: str, input: bytes | None = None) -> str:
    return subprocess.run(["git", *args], cwd=repo, env=ENV, input=input, check=True,
                          capture_output=True).stdout.decode()


def make_repo(path: Path, files: dict[str, str | bytes]) -> Path:
    """A repository at ``path`` with ``files`` committed on `main`."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    write(path, files)
    git(path, "add", "-A")
    git(path, "commit", "-qm", "initial")
    return path


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content if isinstance(content, bytes) else content.encode())


def fingerprint(repo: Path) -> dict[str, str]:
    """Every file of the work tree plus ``.git/index`` and ``.git/HEAD`` -> mode and sha256:
    equal fingerprints mean the checkout (files, index, checked-out branch) was not touched.
    Runner's state directory (``.runner``) is left out: the journal lives there."""
    out = {}
    for folder, dirs, files in os.walk(repo):
        rel = Path(folder).relative_to(repo)
        if rel == Path("."):
            dirs[:] = [d for d in dirs if d not in (".git", ".runner")]
        for name in files:
            out[str(rel / name)] = _print(Path(folder) / name)
    for name in (".git/index", ".git/HEAD"):
        if (repo / name).exists():
            out[name] = _print(repo / name)
    return out


def _print(p: Path) -> str:
    st = p.lstat()
    data = os.readlink(p).encode() if p.is_symlink() else p.read_bytes()
    return f"{st.st_mode:o}:{hashlib.sha256(data).hexdigest()}"


def leftovers(repo: Path) -> tuple[list[str], list[str]]:
    """(extra worktrees, `runner/*` branches) of ``repo``: both empty when nothing was left behind."""
    trees = [line for line in git(repo, "worktree", "list", "--porcelain").splitlines()
             if line.startswith("worktree ")][1:]
    branches = [b.strip() for b in git(repo, "branch", "--list", "runner/*").splitlines() if b.strip()]
    return trees, branches
