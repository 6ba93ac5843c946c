"""Agent metrics: cpu %, memory, uptime of a local process tree, and the Prometheus text format.

The metrics of one agent are a dict ``{"cpu": 12.5, "memory": 73400320, "uptime": 5012,
"messageCount": 3}``: cpu in percent of one core, memory in bytes (RSS summed over the process
and its children), uptime in milliseconds, messageCount when the caller counts messages.
Runtimes that are not local processes (containers, pods) produce the same dict from their
engine's stats.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psutil


def _tree(pid: int) -> tuple[psutil.Process, list[psutil.Process]]:
    import psutil  # lazy: cold start (only an agent that reports a process id is measured)

    root = psutil.Process(pid)
    try:
        children = root.children(recursive=True)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        children = []
    return root, children


def _cpu_seconds_and_rss(procs: list[psutil.Process]) -> tuple[float, int]:
    import psutil  # lazy: cold start (only an agent that reports a process id is measured)

    cpu, rss = 0.0, 0
    for proc in procs:
        try:
            with proc.oneshot():
                t = proc.cpu_times()
                cpu += t.user + t.system
                rss += proc.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue  # a child that exited between listing and reading
    return cpu, rss


def _measure(pid: int) -> tuple[float, float, int] | None:
    """(start time, cpu seconds, rss bytes) of the tree at ``pid``; None if it is gone."""
    import psutil  # lazy: cold start (only an agent that reports a process id is measured)

    try:
        root, children = _tree(pid)
        started = root.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None
    cpu, rss = _cpu_seconds_and_rss([root, *children])
    return started, cpu, rss


def _as_dict(cpu_percent: float, rss: int, uptime: float, message_count: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {"cpu": round(cpu_percent, 1), "memory": rss, "uptime": int(uptime * 1000)}
    if message_count is not None:
        out["messageCount"] = message_count
    return out


def process_metrics(pid: int, message_count: int | None = None) -> dict[str, Any] | None:
    """One-shot metrics of the process ``pid`` and its children; None if it is gone.

    ``cpu`` is the average since the process started (a single call cannot measure a rate).
    """
    measured = _measure(pid)
    if measured is None:
        return None
    started, cpu, rss = measured
    uptime = max(time.time() - started, 1e-3)
    return _as_dict(100.0 * cpu / uptime, rss, uptime, message_count)


def _number_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def from_health(reported: Mapping[str, Any]) -> dict[str, Any]:
    """An agent's metrics in the common form, from what its handle's ``health().metrics`` says.

    Local handles report ``pid`` (its process tree is measured here), ``uptime`` in seconds and
    ``messageCount``; remote handles (agent servers, containers, pods) relay the server's
    ``GET /metrics`` JSON: ``cpu`` in CPU seconds, ``memory`` bytes, ``uptime`` seconds. Keys the
    handle cannot tell are left out (a per-task agent has no process between tasks).
    """
    out: dict[str, Any] = {}
    uptime = _number_or_none(reported.get("uptime"))
    pid = reported.get("pid")
    measured = process_metrics(pid) if isinstance(pid, int) and pid > 0 else None
    if measured is not None:
        out.update(cpu=measured["cpu"], memory=measured["memory"])
    else:
        cpu_seconds, memory = _number_or_none(reported.get("cpu")), _number_or_none(reported.get("memory"))
        if cpu_seconds is not None and uptime:
            out["cpu"] = round(100.0 * cpu_seconds / uptime, 1)
        if memory is not None:
            out["memory"] = int(memory)
    if uptime is not None:
        out["uptime"] = int(uptime * 1000)
    count = reported.get("messageCount")
    if isinstance(count, int) and not isinstance(count, bool):
        out["messageCount"] = count
    return out


def measure_handle(handle: Any) -> dict[str, Any] | None:
    """``from_health`` of ``handle.health().metrics``; None when the handle reports nothing. Never raises."""
    try:
        reported = handle.health().metrics
        metrics = from_health(reported or {})
    except Exception:  # noqa: BLE001 - measuring must never break a run's cleanup
        return None
    return metrics or None


# name, help, type, key in the metrics dict, scale (uptime ms → seconds, the Prometheus base unit)
_SERIES = (
    ("runner_agent_cpu_percent", "CPU use of the agent's process tree, percent of one core.", "gauge", "cpu", 1.0),
    ("runner_agent_memory_bytes", "Resident memory of the agent's process tree.", "gauge", "memory", 1.0),
    ("runner_agent_uptime_seconds", "Time since the agent started.", "gauge", "uptime", 0.001),
    ("runner_agent_messages_total", "Messages (tasks) the agent has handled.", "counter", "messageCount", 1.0),
    # what its answers reported (docs/results.md "Usage"); absent until one reports it
    ("runner_agent_input_tokens_total", "Prompt tokens its answers reported (cached ones included).", "counter",
     "input_tokens", 1.0),
    ("runner_agent_output_tokens_total", "Output tokens its answers reported.", "counter", "output_tokens", 1.0),
    ("runner_agent_cache_read_tokens_total", "Prompt tokens read from the vendor's cache.", "counter",
     "cache_read_tokens", 1.0),
    ("runner_agent_cost_usd_total", "US dollars its answers reported.", "counter", "cost_usd", 1.0),
)


def _label(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, float) and math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if isinstance(value, float) else str(int(value))


def prometheus_text(metrics: Mapping[str, Mapping[str, Any]], labels: Mapping[str, str] | None = None) -> str:
    """``{agent_id: metrics}`` in the Prometheus text exposition format (version 0.0.4).

    ``labels`` are added to every sample (e.g. ``{"run": run_id}``). Agents without a value for
    a series are left out of it; a series no agent has is left out entirely.
    """
    extra = "".join(f',{k}="{_label(v)}"' for k, v in sorted((labels or {}).items()))
    lines: list[str] = []
    for name, help_text, kind, key, scale in _SERIES:
        samples = [(agent, m[key]) for agent, m in sorted(metrics.items())
                   if isinstance(m.get(key), (int, float)) and not isinstance(m.get(key), bool)]
        if not samples:
            continue
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
        for agent, value in samples:
            scaled = value * scale if scale != 1.0 else value
            lines.append(f'{name}{{agent="{_label(agent)}"{extra}}} {_number(scaled)}')
    return "\n".join(lines) + "\n" if lines else ""
