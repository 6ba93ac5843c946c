"""Workspaces: preparing one, and capturing its change, next to the bare git commands.

A repository of 10,000 files (about 2 MB of text over 100 folders). Measured side by side,
alternating, in the same run (load from other processes falls on both alike):

    prepare    runner.workspace.worktree.create (the run's snapshot already taken, as for every
               attempt after a step's first)  vs  `git worktree add -b B PATH HEAD`
    prepare x8 eight of each at once, on threads                        (the issue's 8 at once)
    capture    runner.workspace.capture.capture (add -A, diff --binary, stats)
               vs  `git add -A` + `git diff --cached --binary HEAD` — the same staging a bare
               capture of new files needs — after the same edit of 20 files and 5 new ones
    capture binary  the same, after a few bytes of a 20 MB incompressible file (in the
               repository) change and a 2 MB one is added: the patch is ~4 MB of base85
    snapshot   runner.workspace.snapshot.snapshot of a dirty tree (printed, no target: once a step)

Targets: prepare <= 1.2x, capture <= 1.2x (both cases). Run: .venv/bin/python bench/workspace.py [-n RUNS]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runner.workspace.capture import capture  # noqa: E402
from runner.workspace.git import git_env  # noqa: E402
from runner.workspace.snapshot import snapshot  # noqa: E402
from runner.workspace.worktree import create  # noqa: E402

TARGET = 1.2
FILES = 10_000


def sh(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["git", *args], cwd=cwd, env=git_env(), capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace').strip()}")


def make_repo(root: Path, files: int = FILES) -> Path:
    """A committed repository of ``files`` small Python files (also bench/remote_workspace.py's)."""
    repo = root / "repo"
    for i in range(files):
        p = repo / f"pkg{i % 100:02d}" / f"mod{i}.py"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("".join(f"value_{i}_{k} = {k}\n" for k in range(10)))
    sh("init", "-q", "-b", "main", cwd=repo)
    sh("add", "-A", cwd=repo)
    sh("commit", "-qm", "initial", cwd=repo)
    return repo


def edit_binary(ws: Path, blob: bytes) -> None:
    """The large-binary case: a few bytes of a 20 MB incompressible file change, a 2 MB one is new."""
    (ws / "big.bin").write_bytes(blob[:1000] + b"changed by the agent" + blob[1020:])
    (ws / "new.bin").write_bytes(blob[:2_000_000])


def edit(ws: Path) -> None:
    for i in range(20):
        p = ws / f"pkg{i:02d}" / f"mod{i}.py"
        p.write_text(p.read_text().replace("= 1\n", "= 1001\n"))
    for i in range(5):
        (ws / f"new{i}.txt").write_text("new\n" * 100)


def timed(fn: Callable[[], None]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=5)
    n = parser.parse_args().n
    with tempfile.TemporaryDirectory(prefix="bench-ws-") as tmp:
        root = Path(tmp)
        repo = make_repo(root)
        blob = os.urandom(20 * 1024 * 1024)
        (repo / "big.bin").write_bytes(blob)
        sh("add", "big.bin", cwd=repo)
        sh("commit", "-qm", "a large binary", cwd=repo)
        (repo / "pkg00" / "mod0.py").write_text("dirty\n")  # a dirty tree: the snapshot is a real commit
        t_snap = timed(lambda: snapshot(repo))
        source = snapshot(repo)
        counter = iter(range(10**6))
        results: dict[str, list[float]] = {k: [] for k in ("bare", "runner", "bare8", "runner8", "diff", "capture",
                                                           "diffbin", "capturebin")}

        def bare_add() -> Path:
            # Bare `git worktree add`s at once die now and then reading a registration another is
            # still writing ("failed to read .git/worktrees/X/commondir"; runner takes them one at
            # a time): the bare side tries again under a new name, its time counted.
            for _ in range(10):
                k = next(counter)
                path = root / f"bare{k}"
                proc = subprocess.run(["git", "worktree", "add", "--quiet", "-b", f"bare/{k}", str(path), source.base],
                                      cwd=repo, env=git_env(), capture_output=True)
                if proc.returncode == 0:
                    return path
                if b"failed to read" not in proc.stderr:
                    raise SystemExit(f"git worktree add failed: {proc.stderr.decode(errors='replace').strip()}")
            raise SystemExit("git worktree add kept failing")

        def runner_add() -> Path:
            k = next(counter)
            return create(source, "worktree", root / f"ws{k}", f"runner/bench/s/a-{k}").path

        def clean() -> None:
            for p in root.iterdir():
                if p.name != "repo":
                    shutil.rmtree(p, ignore_errors=True)
            sh("worktree", "prune", cwd=repo)
            for b in subprocess.run(["git", "branch", "--format=%(refname:short)"], cwd=repo, capture_output=True,
                                    text=True).stdout.split():
                if b != "main":
                    sh("branch", "-D", b, cwd=repo)

        for run in range(n):
            results["bare"].append(timed(bare_add))
            results["runner"].append(timed(runner_add))
            with ThreadPoolExecutor(8) as pool:
                results["bare8"].append(timed(lambda: list(pool.map(lambda _: bare_add(), range(8)))))
            with ThreadPoolExecutor(8) as pool:
                results["runner8"].append(timed(lambda: list(pool.map(lambda _: runner_add(), range(8)))))
            a, b = bare_add(), runner_add()
            edit(a)
            edit(b)

            def bare_capture(path: Path = a) -> None:
                sh("add", "-A", cwd=path)
                subprocess.run(["git", "diff", "--cached", "--binary", source.base or "HEAD"], cwd=path,
                               env=git_env(), check=True, capture_output=True)

            ours = lambda path=b: capture(path, source.base or "HEAD")  # noqa: E731
            order = [("diff", bare_capture), ("capture", ours)]
            for key, fn in order if run % 2 == 0 else order[::-1]:  # neither always gets the warm cache
                results[key].append(timed(fn))
            a, b = bare_add(), runner_add()
            edit_binary(a, blob)
            edit_binary(b, blob)
            order = [("diffbin", lambda a=a: bare_capture(a)), ("capturebin", lambda b=b: capture(b, source.base))]
            for key, fn in order if run % 2 == 0 else order[::-1]:
                results[key].append(timed(fn))
            clean()
    med = {k: statistics.median(v) for k, v in results.items()}
    ok = True
    print(f"snapshot of a dirty {FILES}-file tree: {t_snap * 1000:.0f} ms (once per step)")
    for label, bare, ours in (("prepare", "bare", "runner"), ("prepare x8", "bare8", "runner8"),
                              ("capture", "diff", "capture"), ("capture bin", "diffbin", "capturebin")):
        ratio = med[ours] / med[bare]
        ok &= ratio <= TARGET
        print(f"{label:11s} bare {med[bare] * 1000:7.1f} ms   runner {med[ours] * 1000:7.1f} ms   "
              f"ratio {ratio:.2f}x (target <= {TARGET}x) {'ok' if ratio <= TARGET else 'OVER'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
