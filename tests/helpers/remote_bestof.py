"""The issue's "done when" on remote agents: three `runner agent serve` processes, each serving
one deterministic fixer (examples/best-of-n/agents/fixer.py), run `builtin:best-of-n` on a real
git repository through the real CLI. Used by the HTTP/gRPC test (static endpoints) and the etcd
one (agents found in etcd)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gitrepo import fingerprint, git, leftovers, make_repo, write

REPO = Path(__file__).resolve().parents[2]
FIXER = REPO / "examples/best-of-n/agents/fixer.py"
STYLES = ("careful", "verbose", "hasty")


@dataclass
class Fixer:
    style: str
    proc: subprocess.Popen
    urls: dict[str, str]
    tmp: Path  # the server's $TMPDIR: its per-task directories go there


def user_repo(tmp_path: Path) -> Path:
    """The example project, with an uncommitted edit and an untracked file of the user's."""
    project = REPO / "examples/best-of-n/project"
    repo = make_repo(tmp_path / "repo", {p.name: p.read_text() for p in project.iterdir() if p.is_file()})
    write(repo, {"calc.py": (repo / "calc.py").read_text() + "# uncommitted: the user's own edit\n",
                 "scratch.txt": "untracked, mine\n"})
    return repo


def fixer_command(style: str, barrier: Path) -> list[str]:
    # Each agent waits (bounded) until all three have started: they run at the same time.
    wait = (f'touch "{barrier}/{style}"; i=0; while [ "$(ls "{barrier}" | wc -l)" -lt 3 ]; do '
            'i=$((i+1)); [ $i -gt 2400 ] && echo "not concurrent" && exit 9; sleep 0.05; done; ')
    return ["sh", "-c", f'{wait}exec python3 "{FIXER}" {style}']


@contextmanager
def fixers(tmp_path: Path, extra: Sequence[str] = ()) -> Iterator[list[Fixer]]:
    """Three real agent servers on 127.0.0.1 (HTTP and gRPC), killed at the end."""
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    started: list[Fixer] = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNER_")}
    try:
        for style in STYLES:
            tmp = tmp_path / f"server-tmp-{style}"
            tmp.mkdir()
            cmd = [sys.executable, "-m", "runner", "agent", "serve", "--id", style, "--capability", "code",
                   "--http", "127.0.0.1:0", "--grpc", "127.0.0.1:0", *extra, "--", *fixer_command(style, barrier)]
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp,
                                    env={**env, "TMPDIR": str(tmp)})
            ready, _, _ = select.select([proc.stdout], [], [], 30.0)
            line = proc.stdout.readline() if ready else ""  # type: ignore[union-attr]
            if not line.startswith("listening "):
                proc.kill()
                raise AssertionError(f"agent server did not start: {line!r} {proc.stderr.read()}")  # type: ignore[union-attr]
            started.append(Fixer(style, proc, dict(p.split("=", 1) for p in line.split()[1:]), tmp))
        yield started
    finally:
        for f in started:
            if f.proc.poll() is None:
                f.proc.kill()
            f.proc.wait(10)
            f.proc.stdout.close()  # type: ignore[union-attr]
            f.proc.stderr.close()  # type: ignore[union-attr]


def best_of_n(tmp_path: Path, repo: Path, pool: Path) -> tuple[subprocess.CompletedProcess[str], dict]:
    """`runner apply builtin:best-of-n` on ``repo`` with the agents of ``pool``: (process, result.json)."""
    cmd = [sys.executable, "-m", "runner", "apply", "builtin:best-of-n", "--pool", str(pool),
           "--input", f"repo={repo}", "--input", "verify=python3 test_calc.py", "--input", "branch=best",
           "--input", "task=Implement add() in calc.py so that test_calc.py passes.",
           "--state-dir", str(tmp_path / "state"), "-o", str(tmp_path / "r.json")]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUNNER_")}
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=100, env=env)
    out = tmp_path / "r.json"
    return proc, json.loads(out.read_text()) if out.exists() else {}


def assert_done_when(tmp_path: Path, repo: Path, before: dict[str, str], proc: subprocess.CompletedProcess[str],
                     result: dict, servers: list[Fixer]) -> None:
    """Every part of the issue's "done when", on the agents ``servers`` serve."""
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    step = result["steps"][0]
    attempts = [(a["agentId"], a["attempt"], a["status"], a["errorKind"]) for a in step["attempts"]]
    assert ("hasty", 1, "failed", "verify") in attempts and ("hasty", 2, "ok", None) in attempts, attempts
    hasty1 = next(a for a in step["attempts"] if a["agentId"] == "hasty" and a["attempt"] == 1)
    assert hasty1["change"]["verify"]["ok"] is False and "returned -1" in hasty1["change"]["verify"]["output"]
    assert len({c["workspace"] for c in step["changes"]}) == 3  # a workspace of its own each
    assert all(c["verify"]["ok"] for c in step["changes"])
    assert step["change"]["agent"] == "careful" and step["landed"]["branch"] == "best"
    assert git(repo, "rev-list", "--count", "main..best").strip() == "1"
    assert git(repo, "show", "best:calc.py").count("return a + b") == 1
    assert fingerprint(repo) == before  # the user's checkout, uncommitted edits included, untouched
    assert leftovers(repo) == ([], [])
    assert not any((tmp_path / "state/runs").glob("*/workspaces/*/*"))
    for f in servers:  # every server ran its tasks in directories it removed
        assert f.proc.poll() is None, f.proc.stderr.read()  # type: ignore[union-attr]
        assert list(f.tmp.iterdir()) == [], f.style
