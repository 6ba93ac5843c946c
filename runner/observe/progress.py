"""Progress of a run for people: a live table of steps on a terminal, plain lines otherwise.

The reporter reads the run's journal events as they are written (``on_event(name, **fields)``,
the names and fields of ``runner.execute``: ``step_started``, ``attempt_finished``, ...) and
folds them into a ``RunModel`` (``runner.observe.runmodel``), the same model the HTML report
draws. Agent state changes arrive through ``bus.subscribe(reporter.on_agent_event)`` and are
shown only when ``verbose``.

- ``LiveProgress`` (a terminal): one table of the steps (state, agents busy/done, attempt,
  elapsed, cost once usage is known) redrawn in place; failures printed above it as they happen.
- ``LineProgress`` (CI, pipes): one line per step state change, one per failure, no control
  codes: ``[12:00:01] step lint: running (3 agents)``.

Unknown events and fields are ignored, so the executor may write more than a reporter shows.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, Any

from runner.agents.lifecycle import AgentEvent
from runner.journal import iso_time
from runner.observe.redact import Redactor
from runner.observe.runmodel import RunModel, Step

#: agent events worth a line even without ``verbose``: a person has to act or know
LOUD_AGENT_EVENTS = frozenset({"login_required", "agent_unhealthy", "agent_restarted", "agent_retired"})


def _secs(seconds: float | None) -> str:
    return f" in {seconds:.1f}s" if seconds is not None else ""


def _elapsed(step: Step, now: float) -> float | None:
    if step.started is None:
        return None
    return (step.finished or now) - step.started


class ProgressReporter:
    """Base: folds events into the model and turns the noteworthy ones into lines (``say``)."""

    def __init__(self, stream: IO[str], redactor: Redactor | None = None, *, verbose: bool = False) -> None:
        self.stream = stream
        self.redactor = redactor or Redactor()
        self.verbose = verbose
        self.model = RunModel()

    def on_event(self, name: str, /, **fields: Any) -> None:
        """One journal event (see the module docstring)."""
        fields.setdefault("time", iso_time())
        step = self.model.apply({**fields, "event": name})
        for line in self.lines(name, fields, step):
            self.say(self.redactor.redact(line), name, step)
        if step is not None:
            self.changed(step)

    def lines(self, name: str, f: dict[str, Any], step: Step | None) -> list[str]:
        """What to print for one event (the plain view's lines; the live view prints failures)."""
        if step is not None:
            if name == "step_started" and step.uses:
                return [f"step {step.id}: running (calls {step.uses})"]
            if name == "step_started":
                n = len(step.agents)
                return [f"step {step.id}: running ({n} agent{'s' if n != 1 else ''})"]
            if name == "step_waiting":
                return [f"step {step.id}: waiting for approval: {step.waiting}"]
            if name == "step_finished" and step.reused_from:
                return [f"step {step.id}: reused (from run {step.reused_from})"]
            if name in ("step_finished", "step_skipped"):
                detail = _secs(_elapsed(step, time.time()) if name == "step_finished" else None)
                if step.confidence is not None:
                    detail += f" (confidence {step.confidence:.2f})"
                agg = step.aggregation or {}
                reason = step.error or (agg.get("reason") if agg.get("votes") or not agg.get("ok", True) else None)
                return [f"step {step.id}: {step.status}{detail}" + (f": {reason}" if reason else "")]
            if name == "step_retried":
                return [f"step {step.id}: retried: {f.get('reason')}"]
            if name == "attempt_started" and self.verbose:
                return [f"step {step.id}: attempt {f.get('attempt', 1)} on {f.get('agent')}"]
            if name == "attempt_finished" and (f.get("status") not in ("ok", "cancelled") or self.verbose):
                kind = f" ({f['errorKind']})" if f.get("errorKind") else ""
                ms = f.get("durationMs")
                took = _secs(ms / 1000 if isinstance(ms, int | float) else None)
                error = f": {f['error']}" if f.get("error") else ""
                return [f"step {step.id}: attempt {f.get('attempt', 1)} on {f.get('agent')}: "
                        f"{f.get('status', 'finished')}{kind}{took}{error}"]
            return []
        if name == "drain_started":
            return [f"run: stopping: {f.get('running')} running, waiting up to {f.get('timeout', 0):g}s "
                    "(Ctrl-C again to force)"]
        if name == "agent_event" and (f.get("name") in LOUD_AGENT_EVENTS or self.verbose):
            detail = f": {f['detail']}" if f.get("detail") else ""
            return [f"agent {f.get('agent')}: {f.get('name')}{detail}"]
        if name == "agent_state" and self.verbose:
            detail = f": {f['detail']}" if f.get("detail") else ""
            return [f"agent {f.get('agent')}: {f.get('state')}{detail}"]
        return []

    def on_agent_event(self, event: AgentEvent) -> None:
        """An ``EventBus`` listener: agent state changes (shown with ``verbose``)."""
        if event.name == "state_changed" and self.verbose:
            self.on_event("agent_state", agent=event.agent_id, state=event.state.value, detail=event.detail)

    def say(self, line: str, name: str, step: Step | None) -> None:
        raise NotImplementedError

    def changed(self, step: Step) -> None:
        """A step's row changed (the live view redraws on its own clock)."""

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

    def __init__(self, stream: IO[str], redactor: Redactor | None = None, *, verbose: bool = False) -> None:
        super().__init__(stream, redactor, verbose=verbose)
        self._lock = threading.Lock()

    def say(self, line: str, name: str, step: Step | None) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {line}\n"
        with self._lock:  # whole lines, even from several worker threads
            self.stream.write(line)
            self.stream.flush()


#: events whose lines the live view prints above its table (the table shows the rest)
_ABOVE = frozenset({"attempt_finished", "step_retried", "drain_started", "agent_event", "agent_state", "step_waiting",
                    "attempt_started"})


class LiveProgress(ProgressReporter):
    """A rich live table of the steps, redrawn in place; failures printed above it (terminals)."""

    def __init__(self, stream: IO[str], redactor: Redactor | None = None, *, verbose: bool = False,
                 force_terminal: bool | None = None) -> None:
        super().__init__(stream, redactor, verbose=verbose)
        from rich.console import Console  # lazy: cold start (rich: only the live display on a terminal)
        from rich.live import Live  # lazy: cold start (rich: only the live display on a terminal)

        self.console = Console(file=stream, force_terminal=force_terminal, highlight=False)
        self._live = Live(console=self.console, get_renderable=self._render, refresh_per_second=4,
                          transient=False, redirect_stdout=False, redirect_stderr=False)

    def say(self, line: str, name: str, step: Step | None) -> None:
        failed = name == "step_finished" and step is not None and step.status == "failed"
        if name in _ABOVE or failed:
            from rich.text import Text  # lazy: cold start (rich: only the live display on a terminal)

            bad = failed or (name == "attempt_finished" and not line.endswith(": ok") and " ok in " not in line)
            self.console.print(Text(line, style="red" if bad else ""))

    def _render(self) -> Any:
        from rich.table import Table  # lazy: cold start (rich: only the live display on a terminal)
        from rich.text import Text  # lazy: cold start (rich: only the live display on a terminal)

        table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        for column in ("step", "state", "agents", "attempt", "elapsed", "cost"):
            table.add_column(column, overflow="ellipsis", no_wrap=True)
        now = time.time()
        with self.model.lock:
            steps, hidden = _fit(list(self.model.steps.values()), max(5, self.console.height - 3))
            for s in steps:
                elapsed = _elapsed(s, now)
                cost = s.cost_usd
                agents = f"{s.busy} busy · {s.done} done" if s.attempts else str(len(s.agents) or "")
                state = "reused" if s.reused_from else s.status
                if s.status == "waiting" and s.waiting:
                    state = f"waiting: {s.waiting}"
                table.add_row(Text(self.redactor.redact(s.id)),
                              Text(self.redactor.redact(state), style=_STYLE.get(s.status, "")), agents,
                              str(s.attempt or ""), "" if elapsed is None else f"{elapsed:.1f}s",
                              "" if cost is None else f"${cost:.4f}")
        if hidden:
            counts: dict[str, int] = {}
            for s in hidden:
                counts[s.status] = counts.get(s.status, 0) + 1
            table.add_row(Text(f"… {len(hidden)} more", style="dim"),
                          Text(", ".join(f"{n} {k}" for k, n in sorted(counts.items())), style="dim"))
        return table

    def start(self) -> LiveProgress:
        self._live.start()
        return self

    def stop(self) -> None:
        self._live.stop()


def _fit(steps: list[Step], rows: int) -> tuple[list[Step], list[Step]]:
    """At most ``rows`` steps to show, in plan order, and the rest: running and failed steps
    first, then the latest to finish, then the next pending ones (a terminal holds ~40 lines)."""
    if len(steps) <= rows:
        return steps, []
    rank = {"waiting": 0, "running": 0, "failed": 1}

    def key(item: tuple[int, Step]) -> tuple[int, float]:
        i, s = item
        if s.status in rank:
            return rank[s.status], i
        if s.finished is not None:
            return 2, -s.finished
        return 3, i

    chosen = {i for i, _ in sorted(enumerate(steps), key=key)[: rows - 1]}  # one row says what is hidden
    return [s for i, s in enumerate(steps) if i in chosen], [s for i, s in enumerate(steps) if i not in chosen]


_STYLE = {"succeeded": "green", "failed": "red", "running": "yellow", "waiting": "bold yellow", "cancelled": "magenta", "skipped": "dim",
          "pending": "dim"}


def make_progress(stream: IO[str] | None = None, *, tty: bool | None = None, redactor: Redactor | None = None,
                  verbose: bool = False) -> ProgressReporter:
    """The reporter for ``stream`` (stderr): live on a terminal, plain lines otherwise.

    Use it as a context manager (``with make_progress() as p: ...``) so the live view stops.
    """
    stream = stream or sys.stderr
    if tty is None:
        tty = bool(getattr(stream, "isatty", lambda: False)())
    if tty:
        return LiveProgress(stream, redactor, verbose=verbose, force_terminal=True)
    return LineProgress(stream, redactor, verbose=verbose)
