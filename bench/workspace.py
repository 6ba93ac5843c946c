"""Workspaces: preparing one, and capturing its change, next to the bare git commands.

A repository of 10,000 files (about 2 MB of text over 100 folders). Measured side by side,
alternating, in the same run (load from other processes falls on both alike):

    prepare    runner.workspace.worktree.create (the run's snapshot already taken, as for every
               attempt after a step's first)  vs  `git worktree add -b B PATH BASE`
    prepare x8 eight of each at once, on threads                        (the issue's 8 at once)
    capture    runner.workspace.capture.capture (git add -A, git diff --cached --binary -M, the
               patch read for its files and line counts, its sha256)  vs  `git add -A` + `git diff
               --cached --binary BASE`: what a user runs for the same patch (untracked files
               need the `add`), after the same edit of 20 files and 5 new ones; the two patches
               must be byte-identical
    capture binary  the same, after a few bytes of a 20 MB incompressible file (in the
               repository) change and a 2 MB one is added: the patch is ~4 MB of base85
    snapshot   runner.workspace.snapshot.snapshot of a dirty tree (printed, no target: once a step)

Both captures run in settled checkouts: the second after a checkout, its index is refreshed
(`git update-index --refresh`). git re-reads every file whose mtime falls in the same second as
the index was written ("racily clean"), on the first `add` after: a few files or all 10,000,
depending on where the second boundary fell and how fast the checkout was (runner's is faster,
so it drew more of them), which made the capture ratio swing from 0.4 to 1.6 in one run. The
bare and runner checkouts pay it alike; settled, the capture itself is what is measured.

Each row is measured in wall time and in CPU time (this process and its children, user +
system: what a loaded machine distorts least); a ratio is the median over the runs of runner /
bare of the same run. Targets: prepare <= 1.2x, capture <= 1.2x (both cases), judged on the
wall-time ratio. Run: .venv/bin/python bench/workspace.py [-n RUNS] [--files N] [--binary-mb M]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
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


def sh(*args: str, cwd: Path) -> bytes:
    proc = subprocess.run(["git", *args], cwd=cwd, env=git_env(), capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


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
    (ws / "new.bin").write_bytes(blob[:len(blob) // 10])


def edit(ws: Path) -> None:
    for i in range(20):
        p = ws / f"pkg{i:02d}" / f"mod{i}.py"
        p.write_text(p.read_text().replace("= 1\n", "= 1001\n"))
    for i in range(5):
        (ws / f"new{i}.txt").write_text("new\n" * 100)


def settle(*trees: Path) -> None:
    """Refresh each checkout's index once the second its index was written in is over (module
    docstring): no file of it is racily clean any more."""
    newest = max(Path(sh("rev-parse", "--absolute-git-dir", cwd=t).decode().strip(), "index").stat().st_mtime
                 for t in trees)
    time.sleep(max(0.0, math.floor(newest) + 1.01 - time.time()))
    for t in trees:
        sh("update-index", "-q", "--refresh", cwd=t)


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """(wall, CPU) seconds of ``fn()``: the CPU of this process and of the children it waited for."""
    def cpu() -> float:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    c0, t0 = cpu(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, cpu() - c0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=5)
    parser.add_argument("--files", type=int, default=FILES)
    parser.add_argument("--binary-mb", type=int, default=20)
    args = parser.parse_args()
    n = args.n
    with tempfile.TemporaryDirectory(prefix="bench-ws-") as tmp:
        root = Path(tmp)
        repo = make_repo(root, args.files)
        blob = os.urandom(args.binary_mb * 1024 * 1024)
        (repo / "big.bin").write_bytes(blob)
        sh("add", "big.bin", cwd=repo)
        sh("commit", "-qm", "a large binary", cwd=repo)
        (repo / "pkg00" / "mod0.py").write_text("dirty\n")  # a dirty tree: the snapshot is a real commit
        t_snap = timed(lambda: snapshot(repo))[0]
        source = snapshot(repo)
        assert source.base is not None
        base: str = source.base
        counter = iter(range(10**6))
        results: dict[str, list[tuple[float, float]]] = {
            k: [] for k in ("bare", "runner", "bare8", "runner8", "diff", "capture", "diffbin", "capturebin")}

        def bare_add() -> Path:
            # Bare `git worktree add`s at once die now and then reading a registration another is
            # still writing ("failed to read .git/worktrees/X/commondir"; runner takes them one at
            # a time): the bare side tries again under a new name, its time counted.
            for _ in range(10):
                k = next(counter)
                path = root / f"bare{k}"
                proc = subprocess.run(["git", "worktree", "add", "--quiet", "-b", f"bare/{k}", str(path), base],
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
            for b in sh("branch", "--format=%(refname:short)", cwd=repo).decode().split():
                if b != "main":
                    sh("branch", "-D", b, cwd=repo)

        patches: dict[str, bytes] = {}

        def bare_capture(path: Path, key: str) -> None:
            sh("add", "-A", cwd=path)
            patches[key] = sh("diff", "--cached", "--binary", base, cwd=path)

        def runner_capture(path: Path, key: str) -> None:
            patches[key] = capture(path, base).patch

        for run in range(n):
            results["bare"].append(timed(bare_add))
            results["runner"].append(timed(runner_add))
            with ThreadPoolExecutor(8) as pool:
                results["bare8"].append(timed(lambda: list(pool.map(lambda _: bare_add(), range(8)))))
            with ThreadPoolExecutor(8) as pool:
                results["runner8"].append(timed(lambda: list(pool.map(lambda _: runner_add(), range(8)))))
            a, b, a_bin, b_bin = bare_add(), runner_add(), bare_add(), runner_add()
            settle(a, b, a_bin, b_bin)
            for tree in (a, b):
                edit(tree)
            for tree in (a_bin, b_bin):
                edit_binary(tree, blob)
            for bare_key, ours_key, x, y in (("diff", "capture", a, b), ("diffbin", "capturebin", a_bin, b_bin)):
                order: list[tuple[str, Callable[[], None]]] = [
                    (bare_key, lambda x=x, k=bare_key: bare_capture(x, k)),
                    (ours_key, lambda y=y, k=ours_key: runner_capture(y, k))]
                for key, fn in order if run % 2 == 0 else order[::-1]:  # neither always gets the warm cache
                    results[key].append(timed(fn))
                if patches[bare_key] != patches[ours_key]:
                    raise SystemExit(f"{ours_key}: runner's patch differs from the bare `git diff --cached --binary`")
            clean()
    ok = True
    print(f"snapshot of a dirty {args.files}-file tree: {t_snap * 1000:.0f} ms (once per step); {n} runs, medians")
    print(f"{'':11s} {'bare ms':>9s} {'runner ms':>9s} {'ratio':>6s}   {'bare CPU':>8s} {'runner CPU':>10s} "
          f"{'ratio':>6s}   target <= {TARGET}x (wall)")
    for label, bare, ours in (("prepare", "bare", "runner"), ("prepare x8", "bare8", "runner8"),
                              ("capture", "diff", "capture"), ("capture bin", "diffbin", "capturebin")):
        wall, cpu = ([r[i] for r in results[bare]] for i in (0, 1))
        wall_ours, cpu_ours = ([r[i] for r in results[ours]] for i in (0, 1))
        ratio = statistics.median(o / b for o, b in zip(wall_ours, wall, strict=True))
        ratio_cpu = statistics.median(o / b for o, b in zip(cpu_ours, cpu, strict=True) if b > 0)
        ok &= ratio <= TARGET
        print(f"{label:11s} {statistics.median(wall) * 1000:9.1f} {statistics.median(wall_ours) * 1000:9.1f} "
              f"{ratio:5.2f}x   {statistics.median(cpu) * 1000:8.1f} {statistics.median(cpu_ours) * 1000:10.1f} "
              f"{ratio_cpu:5.2f}x   {'ok' if ratio <= TARGET else 'OVER'}")
    print("patches: runner's and the bare `git diff --cached --binary` byte-identical in every run")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
