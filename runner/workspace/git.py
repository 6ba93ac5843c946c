"""Run git for the workspace machinery: one place that pins the settings output depends on.

A user's git configuration must not change what runner reads (``diff.noprefix``, colours,
external diff drivers, quoted paths) nor ask anything (no pager, no prompts); commits runner
makes carry its own identity, so a repository without ``user.name`` works too.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from runner.errors import WorkspaceError

# Settings that change what diff / apply print or do; fixed for every call.
_CONFIG = ("-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false", "-c", "color.ui=never",
           "-c", "core.quotePath=true", "-c", "diff.renames=true", "-c", "advice.detachedHead=false",
           "-c", "core.hooksPath=/dev/null", "-c", "gc.auto=0")
IDENTITY = {"GIT_AUTHOR_NAME": "runner", "GIT_AUTHOR_EMAIL": "runner@localhost",
            "GIT_COMMITTER_NAME": "runner", "GIT_COMMITTER_EMAIL": "runner@localhost"}


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a git call: no pager, no prompt, runner's identity, ``extra`` on top."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}  # an outer hook's GIT_DIR must not leak
    env.update(GIT_PAGER="cat", GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0", LC_ALL="C", **IDENTITY)
    env.update(extra or {})
    return env


def git(args: Sequence[str], cwd: str | Path, *, env: Mapping[str, str] | None = None,
        input: bytes | None = None, check: bool = True) -> bytes:
    """``git ARGS`` in ``cwd``; its stdout. A failure raises ``WorkspaceError`` with git's message."""
    try:
        proc = subprocess.run(["git", *_CONFIG, *args], cwd=str(cwd), env=git_env(env), input=input,
                              capture_output=True, check=False)
    except FileNotFoundError as exc:
        raise WorkspaceError("workspaces need git: `git` was not found on PATH") from exc
    if check and proc.returncode != 0:
        said = proc.stderr.decode(errors="replace").strip().splitlines()
        raise WorkspaceError(f"git {args[0]} failed in {cwd}: {said[-1] if said else f'exit {proc.returncode}'}")
    return proc.stdout


def start(args: Sequence[str], cwd: str | Path, **popen: Any) -> subprocess.Popen[bytes]:
    """``git ARGS`` in ``cwd`` as a running process (streams in or out); ``popen``: its pipes."""
    try:
        return subprocess.Popen(["git", *_CONFIG, *args], cwd=str(cwd), env=git_env(), **popen)
    except FileNotFoundError as exc:
        raise WorkspaceError("workspaces need git: `git` was not found on PATH") from exc


def text(args: Sequence[str], cwd: str | Path, **kw: object) -> str:
    """``git`` whose output is one line of text (a sha, a path)."""
    return git(args, cwd, **kw).decode().strip()  # type: ignore[arg-type]


def toplevel(path: Path) -> Path | None:
    """The work tree root of the git repository ``path`` lies in; None when it is not in one."""
    out = git(["rev-parse", "--show-toplevel"], path, check=False)
    return Path(out.decode().strip()) if out.strip() else None


def attempt(args: Sequence[str], cwd: str | Path, *, env: Mapping[str, str] | None = None,
            input: bytes | None = None) -> tuple[bool, str]:
    """``git ARGS`` that may fail: (succeeded, the last lines of its stderr)."""
    proc = subprocess.run(["git", *_CONFIG, *args], cwd=str(cwd), env=git_env(env), input=input,
                          capture_output=True, check=False)
    lines = [line for line in proc.stderr.decode(errors="replace").splitlines() if line.strip()]
    return proc.returncode == 0, "; ".join(lines[-3:])
