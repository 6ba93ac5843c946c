"""A real `runner agent serve` killed with SIGKILL mid-task leaves its task directory
(`$TMPDIR/runner-workspace-*`) behind; `runner gc` removes it but never a live server's, and the
next server sweeps what a dead one left when it starts."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from gitrepo import make_repo
from protocol_helpers import REPO, make_remote, poll, serve_process

from runner.agents.model import TaskRequest
from runner.errors import AgentFailure

# The agent says where it runs (its pid, for the test to end it), then works for a long time.
SLOW = ("--type", "command", "--", "sh", "-c", "echo $$ > started; exec sleep 60")


def _task(url: str, repo: Path, failures: list) -> threading.Thread:
    def run() -> None:
        handle = make_remote(url)
        try:
            poll(lambda: handle.health().healthy, what="the agent ready")  # it starts after `listening`
            handle.start()
            handle.execute(TaskRequest(task_id="t1", description="x", workspace=str(repo), timeout=90))
        except AgentFailure as exc:  # its server is killed under it
            failures.append(exc)
        finally:
            handle.stop()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _new_dir(tmp: Path, known: set[Path]) -> Path:
    started = poll(lambda: [p for p in tmp.glob("runner-workspace-*/work/started")
                            if p.parents[1] not in known and p.read_text().strip()], 30, "the agent to start")
    return started[0].parents[1]


def _gc(tmp: Path, state: Path, *extra: str) -> str:
    proc = subprocess.run([sys.executable, "-m", "runner", "gc", "--state-dir", str(state), *extra],
                          capture_output=True, text=True, timeout=60, cwd=REPO, env={**os.environ, "TMPDIR": str(tmp)})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_killed_servers_task_directory_is_swept_never_a_live_ones(tmp_path) -> None:
    tmp = tmp_path / "server-tmp"
    tmp.mkdir()
    repo = make_repo(tmp_path / "repo", {"f.txt": "1\n"})
    env = {"TMPDIR": str(tmp)}
    agents: list[int] = []
    failures: list = []
    try:
        with serve_process(*SLOW, env=env) as a, serve_process(*SLOW, env=env) as b:
            threads = [_task(a.urls["http"], repo, failures)]
            dir_a = _new_dir(tmp, set())
            threads.append(_task(b.urls["grpc"], repo, failures))
            dir_b = _new_dir(tmp, {dir_a})
            agents += [int((d / "work/started").read_text()) for d in (dir_a, dir_b)]
            assert f"pid {a.proc.pid} started " in (dir_a / "owner.lock").read_text()

            a.proc.send_signal(signal.SIGKILL)
            a.proc.wait(10)
            threads[0].join(30)
            assert dir_a.is_dir()  # what SIGKILL leaves: nothing ran to remove it

            dry = _gc(tmp, tmp_path / "state", "--dry-run")
            assert f"server workspace\t{dir_a} (agent server pid {a.proc.pid}, gone)\trun ?\twould remove" in dry
            assert str(dir_b) not in dry and dir_a.is_dir()
            swept = _gc(tmp, tmp_path / "state")
            assert f"server workspace\t{dir_a} (agent server pid {a.proc.pid}, gone)\trun ?\tremoved" in swept
            assert not dir_a.exists()
            assert dir_b.is_dir() and (dir_b / "work/f.txt").read_text() == "1\n"  # live: untouched

            b.proc.send_signal(signal.SIGKILL)
            b.proc.wait(10)
            threads[1].join(30)
            assert dir_b.is_dir()
            with serve_process("--type", "command", "--", "true", env=env):  # sweeps before it listens
                assert not dir_b.exists()
        assert list(tmp.iterdir()) == []
        assert len(failures) == 2 and all(f.kind.value == "infrastructure" for f in failures), failures
    finally:
        for pid in agents:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
