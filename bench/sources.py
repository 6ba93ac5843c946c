"""Sources benchmark: a pattern tree of 200 files with 50 `uses` edges to a git library (sources
in the cache, pinned by runner.lock), next to a plain `runner validate` of 200 files without
sources.

Target (2 cores): `runner validate` of the tree <= 1 s, beside the plain load (the ratio is
printed): `runner validate --frozen` of the tree (lock check + load + composition). On a runner
without `uses:` composition in the schema the tree's files cannot load, so it measures what
runner adds for sources instead — `runner lock` (walk, resolve from the cache, sha256 of every
file, write) and the walk's lock check (in-process) — and says so.

Wall and CPU time (user + system) are both printed: on a loaded machine the CPU time is the
steadier figure.

Run: .venv/bin/python bench/sources.py [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from cold_start import median_wall_and_cpu  # noqa: E402

RUNNER = str(Path(sys.executable).with_name("runner"))
STEP = "  - id: s{i}\n    agents: {{capabilities: [shell]}}\n    task: \"echo {name} {i}; echo CONFIDENCE: 0.9\"\n"


def pattern(name: str, steps: int = 5, uses: str | None = None) -> str:
    body = "".join(STEP.format(i=i, name=name) for i in range(steps))
    if uses:
        body += f"  - id: lib\n    uses: {uses}\n"
    return f"name: {name}\nsteps:\n{body}"


def git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b",
           "GIT_COMMITTER_EMAIL": "b@b"}
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def make_tree(root: Path) -> tuple[Path, Path]:
    """150 project files (50 with a `uses:` of a git library file) + the 50 library files; and
    the same 200 files without any `uses` (the plain load)."""
    lib, project, plain = root / "lib", root / "project", root / "plain"
    for folder in (lib, project, plain):
        folder.mkdir()
    git(lib, "init", "-q", "-b", "main")
    for k in range(50):
        (lib / f"l{k}.yaml").write_text(pattern(f"l{k}"))
        (plain / f"l{k}.yaml").write_text(pattern(f"l{k}"))
    git(lib, "add", "-A")
    git(lib, "commit", "-qm", "lib")
    git(lib, "tag", "v1")
    for n in range(150):
        ref = f"git+file://{lib}//l{n}.yaml@v1" if n < 50 else None
        (project / f"p{n}.yaml").write_text(pattern(f"p{n}", uses=ref))
        (plain / f"p{n}.yaml").write_text(pattern(f"p{n}"))
    return project, plain


def composition_landed() -> bool:
    from runner.resources import schema

    return "uses" in str(schema("pattern"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    runs = 3 if parser.parse_args().quick else 5
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RUNNER_CACHE_DIR"] = str(Path(tmp) / "cache")
        project, plain = make_tree(Path(tmp))
        files = sorted(p.name for p in project.glob("*.yaml"))
        subprocess.run([RUNNER, "lock", *files], cwd=project, check=True, capture_output=True)  # fills the cache
        base, base_cpu = median_wall_and_cpu([RUNNER, "validate", "."], runs, str(plain))
        print(f"plain `runner validate` of 200 files, no sources: {base:.3f} s (cpu {base_cpu:.3f} s)")
        if composition_landed():
            tree, cpu = median_wall_and_cpu([RUNNER, "validate", "--frozen", "."], runs, str(project))
            print(f"`runner validate --frozen` of the tree (200 files, 50 uses, cached, locked): {tree:.3f} s "
                  f"(cpu {cpu:.3f} s) = {tree / base:.2f} x the plain load (cpu {cpu / base_cpu:.2f} x); "
                  f"target <= 1 s: {'met' if tree <= 1 else 'NOT met'}")
            return 0
        print("(`uses:` composition has not landed: the tree cannot load yet; timing what sources add)")
        lock, lock_cpu = median_wall_and_cpu([RUNNER, "lock", *files], runs, str(project))
        print(f"`runner lock` of the tree (walk 200 files, resolve 50 git sources from the cache, sha256, write): "
              f"{lock:.3f} s (cpu {lock_cpu:.3f} s) = {lock / base:.2f} x the plain load (cpu {lock_cpu / base_cpu:.2f} x)")
        check = in_process_check(project, files, runs)
        print(f"lock check of the tree before loading (in-process, what validate/plan/apply add): {check * 1000:.1f} ms "
              f"= {check / base:.2f} x the plain load")
    return 0


def in_process_check(project: Path, files: list[str], runs: int) -> float:
    from runner.sources.lockfile import read
    from runner.sources.resolver import Resolver
    from runner.sources.walk import walk

    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        resolver = Resolver(read(project / "runner.lock"), frozen=True)
        for name in files:
            assert walk(project / name, resolver) == []
        times.append(time.perf_counter() - t0)
    return min(times)


if __name__ == "__main__":
    sys.exit(main())
