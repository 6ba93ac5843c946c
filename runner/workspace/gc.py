"""Remove the workspaces of runs that are gone (for ``runner gc``).

Each run records its workspaces in ``<run dir>/workspaces.jsonl`` before making them; a run
whose journal lock is free (finished, or killed) has its worktrees, their registrations, its
``runner/<run-id>/...`` branches and its copies removed, then the record.
"""

from __future__ import annotations

import json
from pathlib import Path

from runner.journal import is_running as run_alive
from runner.runtimes.base import Leftover
from runner.workspace.git import text
from runner.workspace.manager import INDEX_FILE
from runner.workspace.worktree import remove


def gc_workspaces(state_dir: Path, *, dry_run: bool = False, run_id: str | None = None) -> list[Leftover]:
    """Each workspace of a dead run, removed (or, with ``dry_run``, removable)."""
    lines: list[Leftover] = []
    runs = Path(state_dir) / "runs"
    for index in sorted(runs.glob(f"*/{INDEX_FILE}")) if runs.is_dir() else []:
        run_dir = index.parent
        if (run_id is not None and run_dir.name != run_id) or run_alive(run_dir):
            continue
        mine: list[Leftover] = []
        for entry in _entries(index):
            path, repo, branch = Path(str(entry["path"])), entry.get("repo"), entry.get("branch")
            if not path.exists() and not _has_branch(repo, branch):
                continue
            name = f"{path}{f' (branch {branch})' if branch else ''}"
            if dry_run:
                mine.append(Leftover(kind="workspace", name=name, run_id=run_dir.name, status="would remove"))
                continue
            problems = remove(path, Path(repo) if repo else None, branch)
            mine.append(Leftover(kind="workspace", name=name, run_id=run_dir.name,
                                 status="FAILED: " + "; ".join(problems) if problems else "removed"))
        lines += mine
        if not dry_run and not any(left.status.startswith("FAILED") for left in mine):
            index.unlink(missing_ok=True)
    return lines


def _entries(index: Path) -> list[dict[str, str | None]]:
    out = []
    for line in index.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:  # a line torn by the kill
            continue
        if isinstance(entry, dict) and isinstance(entry.get("path"), str):
            out.append(entry)
    return out


def _has_branch(repo: str | None, branch: str | None) -> bool:
    if not repo or not branch or not Path(repo).is_dir():
        return False

    return bool(text(["rev-parse", "-q", "--verify", f"refs/heads/{branch}"], repo, check=False))
