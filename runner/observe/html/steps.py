"""Per-step sections of the run report: the task as sent, every answer, the aggregation
record (votes, weights, the winner and why), verify results and diffs, errors."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from runner.observe.html.text import diff_block, esc, pre, read_head, size_text
from runner.observe.redact import Redactor
from runner.observe.runmodel import Attempt, RunModel, Step

#: most bytes of one patch the page shows
PATCH_LIMIT = 64 * 1024


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v == v  # not NaN


def money(cost: float | None) -> str:
    return "–" if cost is None else f"${cost:.4f}"


def _duration(a: Attempt) -> str:
    if a.started is None or a.finished is None:
        return "–"
    return f"{a.finished - a.started:.2f}s"


def _answers(step: Step, r: Redactor) -> str:
    if not step.attempts:
        return '<p class="note">No attempt.</p>'
    rows = []
    for a in step.attempts:
        conf = "–" if a.confidence is None else f"{a.confidence:.2f}"
        outcome = html.escape(a.status, quote=True)
        answer = pre(a.result, r) if a.status == "ok" else pre(a.error, r, cls="error")
        rows.append(f'<tr class="answer {outcome}" data-agent="{esc(a.agent, r)}"><td>{esc(a.agent, r)}</td>'
                    f"<td>{a.attempt}{'' if a.item is None else f' · item {esc(a.item, r)}'}</td>"
                    f'<td><span class="pill {outcome}">{outcome}</span>'
                    f"{'' if not a.error_kind else ' ' + esc(a.error_kind, r)}</td>"
                    f"<td>{answer}{pre(a.reasoning, r, cls='reasoning')}</td><td class=\"num\">{conf}</td>"
                    f'<td class="num">{_duration(a)}</td><td class="num">{a.tokens or "–"}</td>'
                    f'<td class="num">{money(a.cost_usd)}</td></tr>')
    return ('<div class="wide"><table class="answers"><thead><tr><th>agent</th><th>attempt</th><th>outcome</th><th>answer</th>'
            '<th>confidence</th><th>time</th><th>tokens</th><th>cost</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table></div>")


def _votes(agg: dict[str, Any], output: Any, r: Redactor) -> str:
    votes = {str(k): float(v) for k, v in (agg.get("votes") or {}).items() if _num(v)} \
        if isinstance(agg.get("votes"), dict) else {}
    weights = {str(k): float(v) for k, v in (agg.get("weights") or {}).items() if _num(v)} \
        if isinstance(agg.get("weights"), dict) else {}
    parts = [f'<p class="why"><b>{esc(agg.get("type"), r)}'
             f'{" / " + esc(agg.get("method"), r) if agg.get("method") and votes else ""}</b> — '
             f'{esc(agg.get("reason"), r)}</p>']
    if votes:
        winner = max(votes.items(), key=lambda kv: kv[1])[0] if agg.get("ok", True) else None
        total = sum(votes.values()) or 1
        rows = "".join(
            f'<tr class="{"winner" if k == winner else ""}"><td>{esc(k, r)}</td><td class="num">{v:g}</td>'
            f'<td class="num">{v / total:.0%}</td><td>{"✔ winner" if k == winner else ""}</td></tr>'
            for k, v in sorted(votes.items(), key=lambda kv: -kv[1]))
        agreement = agg.get("agreement")
        parts.append('<table class="votes"><thead><tr><th>answer</th><th>votes</th><th>share</th><th></th>'
                     f"</tr></thead><tbody>{rows}</tbody></table>"
                     + (f'<p class="note">agreement {agreement:.0%}</p>' if _num(agreement) else ""))
    if weights:
        rows = "".join(f'<tr><td>{esc(k, r)}</td><td class="num">{v:g}</td></tr>'
                       for k, v in weights.items())
        parts.append(f'<table class="weights"><thead><tr><th>agent</th><th>weight</th></tr></thead>'
                     f"<tbody>{rows}</tbody></table>")
    for i, item in enumerate(agg["items"] if isinstance(agg.get("items"), list) else []):
        if isinstance(item, dict):
            parts.append(f'<div class="item"><h5>item {i}</h5>{_votes(item, None, r)}</div>')
    if output is not None:
        parts.append(f'<h5>output</h5>{pre(output, r, cls="output")}')
    return "".join(parts)


def _verify(v: Any, r: Redactor) -> str:
    if isinstance(v, dict) and "ok" in v:
        state = "ok" if v.get("ok") else "failed"
        head = (f'<p><span class="pill {state}">{"verified" if v.get("ok") else "verify failed"}</span> '
                f'exit code {esc(v.get("exitCode"), r)}{" · timed out" if v.get("timedOut") else ""}</p>')
        return f'<h5>verify</h5><div class="verify">{head}{pre(v.get("output"), r, cls="verify")}</div>'
    return f'<h5>verify</h5>{pre(v, r, cls="verify")}'


def _change(change: dict[str, Any], run_dir: Path | None, r: Redactor) -> str:
    """A workspace's captured change: its files, its verify result, and its patch as a diff
    (read from the journal's ``changes/`` folder, at most ``PATCH_LIMIT`` bytes)."""
    files_raw = change.get("files")
    files = files_raw if isinstance(files_raw, list) else []
    rows = "".join(f'<tr><td>{esc(f.get("path"), r)}</td><td>{esc(f.get("status"), r)}</td>'
                   f'<td class="num">+{esc(f.get("insertions"), r)}</td><td class="num">-{esc(f.get("deletions"), r)}</td></tr>'
                   for f in files if isinstance(f, dict))
    out = [f'<p class="meta">{len(files)} file(s), +{esc(change.get("insertions", 0), r)} '
           f'-{esc(change.get("deletions", 0), r)}</p>' + (f'<table class="files">{rows}</table>' if rows else "")]
    if change.get("verify") is not None:
        out.append(_verify(change["verify"], r))
    patch = Path(str(change.get("patch") or ""))
    if run_dir is not None and change.get("patch") and patch.resolve().is_relative_to(run_dir.resolve()):
        text, size = read_head(patch, PATCH_LIMIT)
        if text:
            note = (f'<p class="note truncated">the patch is {size_text(size)}: the first {size_text(PATCH_LIMIT)} '
                    f"is shown; all of it is <code>{esc(str(patch), r)}</code></p>") if size > PATCH_LIMIT else ""
            out.append(diff_block(text, r) + note)
    return "".join(out)


def _extras(extra: dict[str, Any], r: Redactor, run_dir: Path | None = None) -> str:
    """Verify results and workspace changes, when the journal has them."""
    out = []
    if isinstance(extra.get("change"), dict):
        out.append(f'<h5>change</h5>{_change(extra["change"], run_dir, r)}')
    if extra.get("landed") is not None:
        out.append(f'<h5>landed</h5>{pre(extra["landed"], r)}')
    if extra.get("verify") is not None:
        out.append(_verify(extra["verify"], r))
    for key in ("diff", "changes"):
        value = extra.get(key)
        if key == "changes" and isinstance(value, list):  # a step's per-agent changes: shown per attempt
            continue
        if isinstance(value, dict) and isinstance(value.get("diff"), str):
            value = value["diff"]
        if value:
            out.append(f"<h5>changes</h5>{diff_block(value, r) if isinstance(value, str) else pre(value, r)}")
    return "".join(out)


def render_step(step: Step, anchor: str, r: Redactor, run_dir: Path | None = None) -> str:
    """One ``<section class="step">`` (collapsed when it succeeded)."""
    state = html.escape(step.status, quote=True)
    took = f" · {step.finished - step.started:.2f}s" if step.started and step.finished else ""
    conf = "" if step.confidence is None else f" · confidence {step.confidence:.2f}"
    body = [f'<p class="meta">needs: {esc(", ".join(step.needs) or "–", r)} · agents: '
            f'{esc(", ".join(step.agents) or "–", r)}{" · strategy " + esc(step.strategy, r) if step.strategy else ""}'
            f" · tokens {step.tokens or '–'} · cost {money(step.cost_usd)}</p>"]
    if step.reused_from:
        body.append(f'<p class="note reused">reused from run <code>{esc(step.reused_from, r)}</code> (same '
                    "fingerprint): no agent ran it in this run; its answers are that run's</p>")
    if step.status == "waiting":
        body.append(f'<div class="waiting"><b>waiting for approval</b>: {esc(step.waiting, r)}</div>')
    if step.error:
        body.append(f'<div class="error"><b>{esc(step.error_kind or step.status, r)}</b>: {esc(step.error, r)}</div>')
    if step.task is not None:
        body.append(f'<h5>task as sent</h5>{pre(step.task, r, cls="task")}')
    body.append(f"<h5>answers</h5>{_answers(step, r)}")
    for reason in step.retries:
        body.append(f'<p class="note">sent back: {esc(reason, r)}</p>')
    if step.aggregation:
        body.append(f'<h5>aggregation</h5>{_votes(step.aggregation, step.output, r)}')
    elif step.output is not None:
        body.append(f'<h5>output</h5>{pre(step.output, r, cls="output")}')
    body.append(_extras(step.extra, r, run_dir))
    for a in step.attempts:
        if a.extra:
            body.append(f'<div class="item attempt-change"><h5>{esc(a.agent, r)} attempt {a.attempt}</h5>'
                        f"{_extras(a.extra, r, run_dir)}</div>")
    opened = " open" if step.status in ("failed", "running", "waiting") else ""
    label = "reused" if step.reused_from else state  # data-state stays the status (succeeded)
    return (f'<section class="step {state}" id="{anchor}" data-step="{esc(step.id, r)}" data-state="{state}">'
            f'<details{opened}><summary><span class="pill {label}">{label}</span> <b>{esc(step.id, r)}</b>'
            f"{took}{conf}</summary>{''.join(body)}</details></section>")


def render_usage(model: RunModel, r: Redactor) -> str:
    """Tokens and cost per agent and for the run (steps show their own)."""
    usage = model.agent_usage()
    if not any(t or c is not None for t, c in usage.values()):
        return '<p class="note">No agent reported usage.</p>'
    rows = "".join(f'<tr><td>{esc(agent, r)}</td><td class="num">{tokens or "–"}</td><td class="num">{money(cost)}</td></tr>'
                   for agent, (tokens, cost) in sorted(usage.items()))
    return (f'<table class="usage"><thead><tr><th>agent</th><th>tokens</th><th>cost</th></tr></thead><tbody>{rows}'
            f'<tr class="total"><td>run</td><td class="num">{model.tokens or "–"}</td>'
            f'<td class="num">{money(model.cost_usd)}</td></tr></tbody></table>')
