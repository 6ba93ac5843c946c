"""A remote agent's workspace (docs/workspaces.md, "Remote agents"): what sending it and bringing
its change back costs, next to what a local agent's workspace costs.

A repository of FILES files (default 10,000, about 2 MB of text over 100 folders, as
bench/workspace.py). Measured side by side, alternating, in the same run:

    pack       runner.workspace.transfer.pack (the caller: base tree -> tar.gz)
    receive    transfer.received (the server: check, unpack, git add, commit)
    local      `git worktree add` of the same commit: what a local agent's workspace costs
    back       the server's capture + the caller's transfer.apply, after an edit of 20 files
               and 5 new ones  vs  `git add -A` + `git diff --cached --binary` of the same edit

No target (the issue sets none for remote agents): it prints (pack + receive) / local and
back / diff. Run: .venv/bin/python bench/remote_workspace.py [-n RUNS] [--files N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runner.workspace.capture import capture  # noqa: E402
from runner.workspace.git import git_env  # noqa: E402
from runner.workspace.transfer import apply, pack  # noqa: E402
from runner.workspace.unpack import received  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workspace import make_repo  # noqa: E402  (the same repository as the local bench)


def sh(*args: str, cwd: Path) -> bytes:
    return subprocess.run(["git", *args], cwd=cwd, env=git_env(), check=True, capture_output=True).stdout


def edit(ws: Path) -> None:
    for i in range(20):
        p = ws / f"pkg{i:02d}" / f"mod{i}.py"
        if p.exists():
            p.write_text(p.read_text().replace("= 1\n", "= 1001\n"))
    for i in range(5):
        (ws / f"new{i}.txt").write_text("new\n" * 100)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=3)
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()
    rows: dict[str, list[float]] = {k: [] for k in ("pack", "receive", "local", "back", "diff")}
    with tempfile.TemporaryDirectory(prefix="bench-rws-") as tmp:
        root = Path(tmp)
        repo = make_repo(root, args.files)
        for run in range(args.n):
            t0 = time.perf_counter()
            archive = pack(repo, repo)
            rows["pack"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            with received(archive) as (server, _cwd, base):
                rows["receive"].append(time.perf_counter() - t0)
                edit(server)
                checkout = root / f"caller-{run}"
                sh("worktree", "add", "-q", "--detach", str(checkout), "HEAD", cwd=repo)
                t0 = time.perf_counter()
                apply(checkout, capture(server, base).patch)
                rows["back"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            local = root / f"local-{run}"
            sh("worktree", "add", "-q", "--detach", str(local), "HEAD", cwd=repo)
            rows["local"].append(time.perf_counter() - t0)
            edit(local)
            t0 = time.perf_counter()
            sh("add", "-A", cwd=local)
            sh("diff", "--cached", "--binary", "HEAD", cwd=local)
            rows["diff"].append(time.perf_counter() - t0)
        med = {k: statistics.median(v) for k, v in rows.items()}
        print(f"remote workspace, {args.files} files, median of {args.n} (seconds)")
        print(f"{'pack':>10} {'receive':>9} {'local':>9} {'send/local':>11} {'back':>9} {'diff':>9} {'back/diff':>10}")
        print(f"{med['pack']:10.3f} {med['receive']:9.3f} {med['local']:9.3f} "
              f"{(med['pack'] + med['receive']) / med['local']:11.2f} {med['back']:9.3f} {med['diff']:9.3f} "
              f"{med['back'] / med['diff']:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
