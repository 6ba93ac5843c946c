"""Helpers for the local runtime tests: test programs, process scans, agent factories."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil

from runner.agents.model import AgentInfo
from runner.runtimes.local import LocalRuntime
from runner.spec.models import AgentDef

PROGRAMS = Path(__file__).resolve().parents[1] / "helpers" / "programs"


def run_processes(run_id: str) -> list[psutil.Process]:
    """Live (non-zombie) processes whose environment carries ``run_id``."""
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue  # dead; this VM's init does not reap orphans
            if proc.environ().get("RUNNER_RUN_ID") == run_id:
                found.append(proc)
        except psutil.Error:
            continue
    return found


def gone(pid: int, timeout: float = 5.0) -> bool:
    """Whether ``pid`` is dead (gone or a zombie) within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.01)
    return False


def make_agent(runtime: LocalRuntime, agent_id: str, program: str, *args: str, **definition):
    """A spawned handle for ``python tests/helpers/programs/<program> args...``."""
    d = AgentDef(command=(sys.executable, str(PROGRAMS / program), *args), **definition)
    return runtime.spawn(AgentInfo(id=agent_id, name=agent_id, type="command", definition=d))
