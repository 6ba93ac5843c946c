"""Progress of a run for people: a live table on a terminal, one line per state change otherwise.

The executor calls ``on_event(name, **fields)``; agent state changes arrive through
``bus.subscribe(reporter.on_agent_event)``. Events and their fields::

    step_started      step, agents (count)
    step_finished     step, status, duration_ms, confidence, reason
    attempt_started   step, agent, attempt
    attempt_finished  step, agent, attempt, status, duration_ms, error_kind, reason
    agent_state       agent, state (what ``on_agent_event`` produces from ``state_changed``)

Plain output (CI logs): ``[12:00:01] step lint: running (3 agents)``. Unknown events and
fields are ignored, so the executor may send more than a reporter shows.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, Any

from runner.agents.lifecycle import AgentEvent
from runner.observe.redact import Redactor


def _secs(ms: Any) -> str:
    return f" in {ms / 1000:.1f}s" if isinstance(ms, (int, float)) else ""


class ProgressReporter:
    """Base: turns events into ``(kind, key, state, detail)`` updates; subclasses show them."""

    def __init__(self, stream: IO[str], redactor: Redactor | None = None) -> None:
        self.stream = stream
        self.redactor = redactor or Redactor()

    def on_event(self, name: str, **f: Any) -> None:
        """Record one executor event (see the module docstring for names and fields)."""
        step, agent = f.get("step") or f.get("stepId"), f.get("agent") or f.get("agentId")
        if name == "step_started":
            n = f.get("agents")
            self.update("step", step, "running", f" ({n} agent{'s' if n != 1 else ''})" if n is not None else "")
        elif name == "step_finished":
            detail = _secs(f.get("duration_ms"))
            if isinstance(f.get("confidence"), (int, float)):
                detail += f" (confidence {f['confidence']:.2f})"
            if f.get("reason"):
                detail += f": {f['reason']}"
            self.update("step", step, f.get("status", "finished"), detail)
        elif name == "attempt_started":
            self.update("attempt", step, f"attempt {f.get('attempt', 1)} on {agent}", "")
        elif name == "attempt_finished":
            kind = f" ({f['error_kind']})" if f.get("error_kind") else ""
            reason = f": {f['reason']}" if f.get("reason") else ""
            self.update("attempt", step, f"attempt {f.get('attempt', 1)} on {agent}",
                        f": {f.get('status', 'finished')}{kind}{_secs(f.get('duration_ms'))}{reason}")
        elif name == "agent_state":
            self.update("agent", agent, str(f.get("state")), f": {f['detail']}" if f.get("detail") else "")

    def on_agent_event(self, event: AgentEvent) -> None:
        """An ``EventBus`` listener: shows every agent state change."""
        if event.name == "state_changed":
            self.on_event("agent_state", agent=event.agent_id, state=event.state.value, detail=event.detail)

    def update(self, kind: str, key: Any, state: str, detail: str) -> None:
        raise NotImplementedError

    def start(self) -> ProgressReporter:
        return self

    def stop(self) -> None:
        pass

    def __enter__(self) -> ProgressReporter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LineProgress(ProgressReporter):
    """One line per change: cheap (one format and one write), for logs and CI."""

    def __init__(self, stream: IO[str], redactor: Redactor | None = None) -> None:
        super().__init__(stream, redactor)
        self._lock = threading.Lock()

    def update(self, kind: str, key: Any, state: str, detail: str) -> None:
        if kind == "attempt":
            line = f"step {key}: {state}{detail}"
        else:
            line = f"{kind} {key}: {state}{detail}"
        line = f"[{time.strftime('%H:%M:%S')}] {self.redactor.redact(line)}\n"
        with self._lock:  # whole lines, even from several worker threads
            self.stream.write(line)
            self.stream.flush()


class LiveProgress(ProgressReporter):
    """A rich live table of steps and agents with their state and time in it (terminals)."""

    def __init__(self, stream: IO[str], redactor: Redactor | None = None, *, force_terminal: bool | None = None) -> None:
        super().__init__(stream, redactor)
        from rich.console import Console
        from rich.live import Live

        self._lock = threading.Lock()
        self._rows: dict[tuple[str, str], list[Any]] = {}  # (kind, key) -> [state, detail, since]
        self.console = Console(file=stream, force_terminal=force_terminal)
        self._live = Live(console=self.console, get_renderable=self._render, refresh_per_second=4,
                          transient=False, redirect_stdout=False, redirect_stderr=False)

    def update(self, kind: str, key: Any, state: str, detail: str) -> None:
        now = time.monotonic()
        with self._lock:
            if kind == "attempt":  # attempts show as the step's detail, not as rows
                row = self._rows.setdefault(("step", str(key)), ["running", "", now])
                row[1] = self.redactor.redact(state + detail)
                return
            current = self._rows.get((kind, str(key)))
            if current is None or current[0] != state:
                self._rows[(kind, str(key))] = [state, self.redactor.redact(detail.strip(" :")), now]
            else:
                current[1] = self.redactor.redact(detail.strip(" :"))

    def _render(self) -> Any:
        from rich.table import Table

        table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        for column in ("", "name", "state", "time", "detail"):
            table.add_column(column, overflow="ellipsis", no_wrap=True)
        now = time.monotonic()
        with self._lock:
            rows = sorted(self._rows.items(), key=lambda kv: (kv[0][0] != "step", kv[1][2]))
        for (kind, key), (state, detail, since) in rows:
            table.add_row(kind, key, state, f"{now - since:.1f}s", detail)
        return table

    def start(self) -> LiveProgress:
        self._live.start()
        return self

    def stop(self) -> None:
        self._live.stop()


def make_progress(stream: IO[str] | None = None, *, tty: bool | None = None,
                  redactor: Redactor | None = None) -> ProgressReporter:
    """The reporter for ``stream`` (stderr): live on a terminal, plain lines otherwise.

    Use it as a context manager (``with make_progress() as p: ...``) so the live view stops.
    """
    stream = stream or sys.stderr
    if tty is None:
        tty = bool(getattr(stream, "isatty", lambda: False)())
    if tty:
        return LiveProgress(stream, redactor, force_terminal=True)
    return LineProgress(stream, redactor)
