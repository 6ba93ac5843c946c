"""The run report: one self-contained HTML file (no script, no network, every style inline).

``render_report(model, redactor)`` draws a ``RunModel`` (``runner.observe.runmodel``): a
headline with the run's state (a running run says so: the page is complete up to that
moment), every failure, the DAG (``dag.py``), the timeline (``timeline.py``), usage and cost,
one section per step (``steps.py``), and each agent's transcript, collapsed and cut to its
last ``TRANSCRIPT_LIMIT`` bytes (with a note and the journal path) so a 100 MB log cannot
swell the page. The page skeleton and its CSS are ``report.html``, shipped as package data.
"""

from __future__ import annotations

import html
import time
from datetime import UTC, datetime
from functools import cache
from importlib import resources

from runner.observe.html.dag import render_svg
from runner.observe.html.steps import money, render_step, render_usage
from runner.observe.html.text import clean, esc, read_tail, size_text
from runner.observe.html.timeline import render_timeline
from runner.observe.redact import Redactor
from runner.observe.runmodel import RunModel

__all__ = ["TRANSCRIPT_LIMIT", "render_report"]

#: most bytes of one agent's transcript the page holds (its tail); and of all transcripts together
TRANSCRIPT_LIMIT = 64 * 1024
TRANSCRIPTS_TOTAL = 2 * 1024 * 1024


@cache
def _skeleton() -> str:
    return resources.files("runner.observe.html").joinpath("report.html").read_text(encoding="utf-8")


def _when(ts: float | None) -> str:
    return "–" if ts is None else datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _anchors(model: RunModel) -> dict[str, str]:
    return {sid: f"step-{i}" for i, sid in enumerate(model.steps)}


def _headline(model: RunModel, r: Redactor, now: float) -> str:
    state = html.escape(model.status, quote=True)
    counts: dict[str, int] = {}
    for s in model.steps.values():
        counts[s.status] = counts.get(s.status, 0) + 1
    took = ((model.finished or now) - model.started) if model.started else None
    parts = [f'<header><h1>runner · {esc(model.pattern or "run", r)} '
             f'<span class="pill {state}" id="run-state" data-state="{state}">{state}</span></h1>',
             f'<p class="meta">run <code>{esc(model.run_id, r)}</code> · pool {esc(model.pool or "–", r)} · '
             f"started {_when(model.started)}"
             + (f" · {took:.2f}s" if took is not None else "")
             + (f" · exit code {model.exit_code}" if model.exit_code is not None else "")
             + f" · {len(model.steps)} steps ({', '.join(f'{n} {k}' for k, n in sorted(counts.items()))})"
             f" · tokens {model.tokens or '–'} · cost {money(model.cost_usd)}</p></header>"]
    return "".join(parts)


def _banner(model: RunModel, now: float) -> str:
    if model.status == "running":
        return (f'<p class="banner running" id="banner">This run is still running: this report is complete up to '
                f"{_when(now)}. Make it again for the rest.</p>")
    if model.status in ("unfinished", "killed"):
        return ('<p class="banner unfinished" id="banner">The journal ends without a result: the run\'s process '
                "stopped before it finished. This report shows what the journal holds.</p>")
    waiting = [s for s in model.steps.values() if s.status == "waiting"]
    if model.status == "waiting" and waiting:
        step = waiting[0]
        return (f'<p class="banner waiting" id="banner">This run waits for approval of step <b>{html.escape(step.id)}'
                f"</b>: {html.escape(step.waiting or '')}. Decide with <code>runner approve {html.escape(model.run_id)} "
                f"{html.escape(step.id)}</code>, then continue it with <code>runner apply --resume "
                f"{html.escape(model.run_id)}</code>.</p>")
    return ""


def _failures(model: RunModel, r: Redactor) -> str:
    found = model.failures()
    problems = [f"<li>{esc(p, r)}</li>" for p in model.problems]
    if not found and not problems:
        return ""
    items = "".join(f'<li class="failure"><b>{esc(where, r)}</b> ({esc(kind, r)}): {esc(message, r)}</li>'
                    for where, kind, message in found)
    return f'<h2 id="failures">Failures</h2><ul class="failures">{items}{"".join(problems)}</ul>'


def _transcripts(model: RunModel, r: Redactor) -> str:
    if model.run_dir is None:
        return ""
    folder = model.run_dir / "agents"
    try:
        logs = sorted(p for p in folder.iterdir() if p.suffix == ".log")
    except OSError:
        return ""
    if not logs:
        return ""
    limit = max(4096, min(TRANSCRIPT_LIMIT, TRANSCRIPTS_TOTAL // len(logs)))
    parts = []
    for path in logs:
        text, size = read_tail(path, limit)
        note = ""
        if size > limit:
            note = (f'<p class="note truncated">{size_text(size)} in all: only the last {size_text(limit)} '
                    f"is shown; the whole transcript is <code>{esc(str(path), r)}</code></p>")
        parts.append(f'<details class="transcript" data-agent="{esc(path.stem, r)}"><summary>{esc(path.stem, r)} '
                     f'<span class="note">{size_text(size)}</span></summary>{note}'
                     f'<pre class="transcript">{esc(text, r, limit=None)}</pre></details>')
    return "<h2>Transcripts</h2>" + "".join(parts)


def _values(title: str, values: dict[str, object], r: Redactor) -> str:
    if not values:
        return ""
    rows = "".join(f"<tr><th>{esc(k, r)}</th><td><pre>{esc(v, r)}</pre></td></tr>" for k, v in values.items())
    return f'<h2>{title}</h2><table class="values">{rows}</table>'


def render_report(model: RunModel, redactor: Redactor | None = None, now: float | None = None) -> str:
    """The whole report page as text (see the module docstring)."""
    r = redactor or Redactor()
    now = now if now is not None else time.time()
    anchors = _anchors(model)
    with model.lock:
        body = [
            _headline(model, r, now), "<main>", _banner(model, now), _failures(model, r),
            '<h2 id="dag">Steps</h2>',
            f'<div class="scroll">{render_svg(model, anchors.__getitem__)}</div>' if model.steps
            else '<p class="note">No step in the journal.</p>',
            '<h2 id="timeline">Timeline</h2>', render_timeline(model, anchors.__getitem__, now),
            '<h2 id="usage">Usage and cost</h2>', render_usage(model, r),
            _values("Inputs", model.inputs, r), _values("Outputs", model.outputs, r),
            '<h2 id="details">Step details</h2>',
            *(render_step(s, anchors[s.id], r, model.run_dir) for s in model.steps.values()),
            _transcripts(model, r),
            f'<p class="note">Made by runner from the journal <code>{esc(str(model.run_dir or ""), r)}</code> '
            f"at {_when(now)}.</p></main>",
        ]
    title = html.escape(clean(f"runner · {model.pattern or 'run'} · {model.run_id} · {model.status}", r), quote=False)
    return _skeleton().replace("@@TITLE@@", title).replace("@@BODY@@", "".join(body))
