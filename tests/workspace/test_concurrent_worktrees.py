"""Eight workspaces of one repository made (and others removed) at the same time: git dies
reading a registration another `git worktree add` is still writing ("failed to read
.git/worktrees/X/commondir") unless runner takes them one at a time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from gitrepo import leftovers, make_repo

from runner.workspace.snapshot import snapshot
from runner.workspace.worktree import create, remove


def test_eight_at_once_while_others_are_removed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {f"d{i % 20}/f{i}.txt": f"{i}\n" * 20 for i in range(2000)})
    source = snapshot(repo)
    made = []
    with ThreadPoolExecutor(12) as pool:
        for rnd in range(4):
            jobs = [pool.submit(create, source, "worktree", tmp_path / f"ws{rnd}-{k}", f"runner/t/s/a{rnd}-{k}")
                    for k in range(8)]
            gone = [pool.submit(remove, ws.path, ws.repo, ws.branch) for ws in made]
            made = [j.result() for j in jobs]  # a git failure raises here
            assert all(g.result() == [] for g in gone)
            assert all((ws.path / "d7" / "f7.txt").read_text() == "7\n" * 20 for ws in made)
    for ws in made:
        assert remove(ws.path, ws.repo, ws.branch) == []
    assert leftovers(repo) == ([], [])
