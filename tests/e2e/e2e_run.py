"""Helpers for the end-to-end tests: run the installed `runner` console script in a subprocess
(``run``), or the same command line inside the test's process (``run_here``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psutil
from click.testing import CliRunner

from runner.cli import main

RUNNER = str(Path(sys.executable).with_name("runner"))
AGENT = str(Path(__file__).with_name("e2e_agent.py"))
REPO = Path(__file__).resolve().parents[2]


def agent_cmd(*args: str) -> list[str]:
    """The command of a scripted agent (see e2e_agent.py)."""
    return [sys.executable, AGENT, *args]


def env(**extra: str) -> dict[str, str]:
    """The test process's environment, without variables that would change runner's behaviour."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("RUNNER_", "PARALLAX_")) and k != "PYTEST_CURRENT_TEST"}
    return {**base, **extra}


def run(args: list[str], cwd: Path, timeout: float = 60, **kw: Any) -> subprocess.CompletedProcess[str]:
    """`runner ARGS` in ``cwd``; output captured as text."""
    kw.setdefault("env", env())
    return subprocess.run([RUNNER, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, **kw)


def run_here(args: list[str], cwd: Path, **kw: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`runner ARGS` in ``cwd`` as ``run`` has it, but inside this process (click's CliRunner around
    ``runner.cli.main``, the environment swapped for the call's length): for a test of what a
    command prints and exits with, where the process boundary is not the point. A new interpreter
    costs ~0.25 CPU-s a command; each command keeps tests through the real console script (``run``),
    where a traceback, a closed pipe or a signal would show. Not for `apply`, which sets up
    signal handlers and logging for the process it runs in. ``env=`` as for ``run``."""
    wanted = kw.pop("env", None) or env()
    assert not kw, f"run_here takes env= only, not {sorted(kw)}"
    changes = {k: wanted.get(k) for k in {*os.environ, *wanted} if os.environ.get(k) != wanted.get(k)}
    here = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, args, env=changes, catch_exceptions=False)
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess([RUNNER, *args], result.exit_code, result.stdout, result.stderr)


def write_yaml(path: Path, data: Any) -> Path:
    """YAML is a superset of JSON: write the document as JSON (keeps the tests free of quoting)."""
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def write_voters(tmp_path: Path) -> Path:
    """``pool.yaml`` of three voters a, b, c (capability ``vote``) that each answer once all three
    have started (``overlap``), marking their start and end in the folder returned."""
    marks = tmp_path / "marks"
    marks.mkdir()
    write_yaml(tmp_path / "pool.yaml", {"name": "voters", "agents": [
        {"id": name, "command": agent_cmd("overlap", str(marks), name, "3"), "capabilities": ["vote"]}
        for name in ("a", "b", "c")]})
    return marks


def run_dirs(cwd: Path) -> list[Path]:
    return sorted((cwd / ".runner" / "runs").glob("*/"))


def events(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines() if line.strip()]


def processes_of_run(run_id: str) -> list[psutil.Process]:
    """Every live process whose environment carries this run id."""
    found = []
    for p in psutil.process_iter():
        try:
            if p.environ().get("RUNNER_RUN_ID") == run_id and p.status() != psutil.STATUS_ZOMBIE:
                found.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def assert_no_traceback(proc: subprocess.CompletedProcess[str]) -> None:
    for text in (proc.stdout, proc.stderr):
        assert "Traceback" not in text, text
        assert "internal error" not in text, text
