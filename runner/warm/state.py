"""The warm-pool state file ``<state-dir>/pools/<pool>.json``: what ``runner pool up`` runs.

Written (atomically) by the supervisor, read by ``runner pool status|down`` and by the
``warm`` registry, which ``discover`` consults automatically when the file exists::

    {"pool": "dev", "source": "pool.yaml", "supervisor": 4242, "registry": "file" | "etcd",
     "updatedAt": 1764080000.0,
     "agents": [{"id": "dev-claude-1", "template": "claude", "type": "command", "name": "...",
                 "capabilities": [...], "expertise": {...}, "endpoint": "http://127.0.0.1:PORT",
                 "pid": 4243, "ready": true, "restarts": 0}]}
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def state_path(state_dir: Path, pool_name: str) -> Path:
    return Path(state_dir) / "pools" / f"{pool_name}.json"


def read_state(state_dir: Path, pool_name: str) -> dict[str, Any] | None:
    """The state of the pool's warm pool, or None when none runs (no file, or its supervisor
    is dead: a stale file is ignored, ``runner pool down`` removes it)."""
    path = state_path(state_dir, pool_name)
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return state if pid_alive(int(state.get("supervisor", 0))) else None


def write_state(state_dir: Path, pool_name: str, state: dict[str, Any]) -> None:
    path = state_path(state_dir, pool_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    os.replace(tmp, path)  # readers never see half a file


def remove_state(state_dir: Path, pool_name: str) -> None:
    state_path(state_dir, pool_name).unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not count)."""
    if pid <= 0:
        return False
    import psutil  # lazy: cold start (a plan only asks whether the warm state file exists)

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
