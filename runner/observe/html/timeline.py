"""The run's timeline: one row per agent, one bar per attempt, coloured by its outcome.

Bars are ``<a class="bar OUTCOME" data-agent data-step data-outcome>`` placed in percent of the
run's span, so the timeline fits any width without script. A running attempt reaches "now".
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable

from runner.observe.runmodel import RunModel


def render_timeline(model: RunModel, anchor: Callable[[str], str], now: float | None = None) -> str:
    """The timeline as HTML (``<div class="timeline">``); empty note when no attempt started."""
    attempts = [a for a in model.attempts() if a.started is not None]
    if not attempts:
        return '<p class="note">No attempt has started.</p>'
    now = now if now is not None else time.time()
    start = min([a.started for a in attempts if a.started is not None] + ([model.started] if model.started else []))
    end = max([a.finished or (model.finished or now) for a in attempts] + ([model.finished] if model.finished else []))
    span = max(end - start, 1e-3)
    rows: dict[str, list[str]] = {}
    for a in attempts:
        assert a.started is not None
        stop = a.finished or (model.finished or now)
        left = (a.started - start) / span * 100
        width = max((stop - a.started) / span * 100, 0.3)
        outcome = html.escape(a.status, quote=True)
        agent, step = html.escape(a.agent, quote=True), html.escape(a.step, quote=True)
        took = f"{stop - a.started:.2f}s"
        title = f"{a.step} · attempt {a.attempt} · {a.status} · {took}"
        rows.setdefault(a.agent, []).append(
            f'<a class="bar {outcome}" href="#{anchor(a.step)}" data-agent="{agent}" data-step="{step}" '
            f'data-outcome="{outcome}" data-attempt="{a.attempt}" style="left:{left:.3f}%;width:{width:.3f}%" '
            f'title="{html.escape(title, quote=True)}"></a>')
    body = "".join(
        f'<div class="lane" data-agent="{html.escape(agent, quote=True)}">'
        f'<span class="who" title="{html.escape(agent, quote=True)}">{html.escape(agent)}</span>'
        f'<span class="track">{"".join(bars)}</span></div>'
        for agent, bars in sorted(rows.items()))
    legend = "".join(f'<span class="key {k}"></span>{k} ' for k in ("ok", "failed", "rejected", "cancelled", "running"))
    return (f'<div class="timeline">{body}<div class="axis"><span>0s</span><span>{span:.1f}s</span></div>'
            f'<p class="legend">{legend}</p></div>')
