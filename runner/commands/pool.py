"""``runner pool up|status|down POOL``: the pool's warm pool (``warmPool`` in the pool file).

``up`` runs the supervisor in the foreground until SIGTERM/Ctrl-C (or, with ``--detach``,
in the background, returning once every agent is ready); ``down`` stops it and every
agent it started; ``status`` lists the agents. See ``runner.warm.supervisor``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

import click
import psutil

from runner.commands.common import load_pool_arg
from runner.errors import EXIT_FAILED, EXIT_INFRA, EXIT_OK, UsageError
from runner.warm.state import pid_alive, read_state, remove_state, state_path
from runner.warm.supervisor import Supervisor


def up(pool_path: str, state_dir: Path, detach: bool, interval: float, wait: float, out: TextIO) -> int:
    pool = load_pool_arg(pool_path)
    if not pool.warm_pool:
        raise UsageError(f"pool `{pool.name}` has no warmPool")
    running = read_state(state_dir, pool.name)
    if running is not None:
        raise UsageError(f"the warm pool of `{pool.name}` already runs (supervisor pid {running['supervisor']})")
    if detach:
        return _detach(pool_path, pool.name, state_dir, interval, wait, out)
    supervisor = Supervisor(pool, state_dir, interval=interval)
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: supervisor.stop())
    out.write(f"warm pool {pool.name}: keeping {len(supervisor.slots)} agent(s) ready; "
              f"state {state_path(state_dir, pool.name)}\n")
    out.flush()
    supervisor.run()
    return EXIT_OK


def _detach(pool_path: str, name: str, state_dir: Path, interval: float, wait: float, out: TextIO) -> int:
    log = state_path(state_dir, name).with_suffix(".log")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "runner", "pool", "up", pool_path, "--state-dir",
                                 str(state_dir), "--interval", str(interval)],
                                stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        state = read_state(state_dir, name)
        if state and state["agents"] and all(a["ready"] for a in state["agents"]):
            out.write(f"warm pool {name}: {len(state['agents'])} agent(s) ready (supervisor pid {proc.pid})\n")
            return EXIT_OK
        if proc.poll() is not None:
            out.write(f"warm pool {name}: the supervisor exited ({proc.returncode}); see {log}\n")
            return EXIT_INFRA
        time.sleep(0.05)
    out.write(f"warm pool {name}: not every agent was ready within {wait:g}s (it keeps trying; "
              f"`runner pool status`); log {log}\n")
    return EXIT_INFRA


def status(pool_path: str, state_dir: Path, out: TextIO) -> int:
    pool = load_pool_arg(pool_path)
    state = read_state(state_dir, pool.name)
    if state is None:
        out.write(f"no warm pool of `{pool.name}` runs\n")
        return EXIT_FAILED
    out.write(f"warm pool {pool.name}: supervisor pid {state['supervisor']}, registry {state['registry']}\n")
    for a in state["agents"]:
        alive = pid_alive(int(a.get("pid", 0)))
        what = "ready" if a["ready"] and alive else ("starting" if alive else "down")
        out.write(f"  {a['id']:<24} {a['template']:<12} {what:<9} {a['endpoint']:<28} "
                  f"pid {a['pid']} restarts {a['restarts']}\n")
    return EXIT_OK


def down(pool_path: str, state_dir: Path, timeout: float, out: TextIO) -> int:
    pool = load_pool_arg(pool_path)
    path = state_path(state_dir, pool.name)
    state: dict[str, Any] | None = None
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        out.write(f"no warm pool of `{pool.name}` runs\n")
        return EXIT_OK
    pid = int(state.get("supervisor", 0))
    if pid_alive(pid):
        os.kill(pid, signal.SIGTERM)  # it stops its agents and removes the state file
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    left = _kill_leftovers(state)  # a supervisor that died (or was too slow) left these
    remove_state(state_dir, pool.name)
    out.write(f"warm pool {pool.name}: stopped" + (f" (killed {left} leftover process(es))" if left else "") + "\n")
    return EXIT_OK


def _kill_leftovers(state: dict[str, Any]) -> int:
    killed = 0
    for pid in [int(state.get("supervisor", 0))] + [int(a.get("pid", 0)) for a in state.get("agents", [])]:
        if not pid_alive(pid):
            continue
        try:
            root = psutil.Process(pid)
            for proc in [root, *root.children(recursive=True)]:
                proc.kill()
                killed += 1
        except psutil.Error:
            continue
    return killed


STATE_DIR = click.option("--state-dir", type=click.Path(path_type=Path, file_okay=False), default=Path(".runner"),
                         show_default=True, help="Where the warm-pool state file goes.")


@click.group("pool")
def pool_group() -> None:
    """Warm pools: agents kept ready ahead of need (`warmPool` in a pool file)."""


@pool_group.command("up")
@click.argument("pool")
@STATE_DIR
@click.option("--detach", "-d", is_flag=True, help="Run the supervisor in the background; return once ready.")
@click.option("--interval", type=click.FloatRange(0.05), default=1.0, show_default=True,
              help="Seconds between checks of the agents.")
@click.option("--wait", type=click.FloatRange(0), default=60.0, show_default=True,
              help="With --detach: how long to wait for every agent to be ready.")
def up_cli(pool: str, state_dir: Path, detach: bool, interval: float, wait: float) -> int:
    """Start the warm pool of POOL."""
    return up(pool, state_dir, detach, interval, wait, sys.stdout)


@pool_group.command("status")
@click.argument("pool")
@STATE_DIR
def status_cli(pool: str, state_dir: Path) -> int:
    """List the warm agents of POOL (exit 1 when no warm pool runs)."""
    return status(pool, state_dir, sys.stdout)


@pool_group.command("down")
@click.argument("pool")
@STATE_DIR
@click.option("--timeout", type=click.FloatRange(0), default=30.0, show_default=True,
              help="Seconds to wait for a graceful stop before killing.")
def down_cli(pool: str, state_dir: Path, timeout: float) -> int:
    """Stop the warm pool of POOL and every agent it started."""
    return down(pool, state_dir, timeout, sys.stdout)
