"""Reports of a finished run, made from its result dict (``schemas/result.schema.json``).

- ``validate_result``: the result against its JSON Schema (the executor's own check);
- ``junit_xml``: JUnit XML, one ``<testsuite>`` per run, one ``<testcase>`` per step;
- ``markdown_summary`` / ``append_github_summary``: a table of steps for ``$GITHUB_STEP_SUMMARY``,
  with the DAG as Mermaid (``mermaid_dag``, each node with its state) and the path of the HTML
  report when one was written.

Every text is redacted with the run's ``Redactor`` (key-shaped values at least, when none given).
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.agents import usage
from runner.agents.usage import FIELDS
from runner.observe.redact import Redactor
from runner.workspace.describe import step_change_lines as lines

if TYPE_CHECKING:
    from runner.observe.runmodel import RunModel

SCHEMA = "result.schema.json"
# Characters XML 1.0 cannot hold (PTY output has escape codes and other control characters): the
# complement of its Char production, written as what it leaves out (the negated class of wide
# ranges costs ~5 ms to compile at every start)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
STATUS_ICON = {"succeeded": "✅", "failed": "❌", "skipped": "⏭️", "cancelled": "🚫", "pending": "⏳",
               "interrupted": "🛑", "error": "💥", "waiting": "⏸️"}


@cache
def result_schema() -> dict[str, Any]:
    """The result JSON Schema: package data when installed, ``schemas/`` in a checkout."""
    packaged = resources.files("runner").joinpath("_data", "schemas", SCHEMA)
    if packaged.is_file():
        return json.loads(packaged.read_text(encoding="utf-8"))
    return json.loads((Path(__file__).parents[2] / "schemas" / SCHEMA).read_text(encoding="utf-8"))


def validate_result(result: Mapping[str, Any]) -> list[str]:
    """Every way ``result`` breaks its schema, as ``$.path: message`` lines (empty when valid)."""
    import jsonschema  # lazy: cold start (jsonschema: only `runner report --check`)

    validator = jsonschema.Draft202012Validator(result_schema(), format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(result), key=lambda e: list(e.absolute_path))
    return [f"{e.json_path}: {e.message}" for e in errors]


def _text(value: Any, redactor: Redactor, limit: int | None = None) -> str:
    """Any result value as clean one-piece text: JSON for structures, no control characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = _NOT_XML.sub("", _ANSI.sub("", redactor.redact(text)))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _seconds(ms: Any) -> str:
    return f"{(ms or 0) / 1000:.3f}"


def _timestamp(iso: str | None) -> str:
    """ISO-8601 with zone → the zone-less UTC seconds JUnit wants."""
    if not iso:
        return "1970-01-01T00:00:00"
    parsed = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed.strftime("%Y-%m-%dT%H:%M:%S")


def _failure_text(step: Mapping[str, Any], redactor: Redactor) -> tuple[str, str, str]:
    """(message, type, details) of a failed step: its error, then each failed attempt."""
    error = step.get("error") or {}
    attempts = [a for a in step.get("attempts") or [] if a.get("status") != "ok"]
    kind = error.get("kind") or next((a["errorKind"] for a in attempts if a.get("errorKind")), None) or "failed"
    message = error.get("message") or (step.get("aggregation") or {}).get("reason") or f"step {step['id']} failed"
    lines = [message]
    for a in attempts:
        lines.append(f"attempt {a.get('attempt')} on {a.get('agentId')}: {a.get('status')}"
                     f" ({a.get('errorKind') or '-'}) {a.get('error') or ''}".rstrip())
    return _text(message, redactor), _text(kind, redactor), _text("\n".join(lines), redactor)


def step_change_lines(step: Mapping[str, Any]) -> list[str]:
    return lines(step)


def junit_xml(result: Mapping[str, Any], redactor: Redactor | None = None) -> str:
    """The run as JUnit XML: a ``<testsuites>`` with one ``<testsuite>``, a ``<testcase>`` per step.

    Failed steps carry ``<failure message=... type=errorKind>`` with the reason and the failed
    attempts; skipped, cancelled, pending and waiting steps are ``<skipped>``. A run that failed before
    or outside any step (``status: error``) adds an ``<error>`` testcase named ``(run)``.
    """
    import xml.etree.ElementTree as ET  # lazy: cold start (only --junit writes XML)

    r = redactor or Redactor()
    pattern = _text(result["pattern"]["name"], r)
    steps = list(result.get("steps") or [])
    suite = ET.Element("testsuite", {"name": pattern, "package": pattern, "id": "0",
                                     "timestamp": _timestamp(result.get("startedAt")),
                                     "hostname": socket.gethostname() or "localhost",
                                     "time": _seconds(result.get("durationMs"))})
    props = ET.SubElement(suite, "properties")
    used = result.get("usage") or {}
    for name, value in (("runId", result["runId"]), ("status", result["status"]),
                        ("exitCode", result["exitCode"]), ("pool", (result.get("pool") or {}).get("name")),
                        *((f"usage.{k}", used[k]) for k in FIELDS if k in used),
                        *((f"usage.{step['id']}.{k}", step["usage"][k]) for step in steps
                          for k in FIELDS if k in (step.get("usage") or {}))):
        if value is not None:
            ET.SubElement(props, "property", {"name": name, "value": _text(value, r)})
    counts = {"failures": 0, "errors": 0, "skipped": 0}
    for step in steps:
        case = ET.SubElement(suite, "testcase", {"name": _text(step["id"], r), "classname": pattern,
                                                 "time": _seconds(step.get("durationMs"))})
        if step["status"] == "failed":
            message, kind, details = _failure_text(step, r)
            ET.SubElement(case, "failure", {"message": message, "type": kind}).text = details
            counts["failures"] += 1
        elif step["status"] in ("skipped", "cancelled", "pending", "waiting"):
            waiting = (step.get("waiting") or {}).get("message") if step["status"] == "waiting" else None
            ET.SubElement(case, "skipped", {"message": _text(f"waiting for approval: {waiting}", r) if waiting
                                            else step["status"]})
            counts["skipped"] += 1
        changes = step_change_lines(step)  # workspace steps: every change, the chosen one, where it landed
        if step.get("output") is not None or changes:
            out = [] if step.get("output") is None else [_text(step["output"], r)]
            ET.SubElement(case, "system-out").text = "\n".join(out + [_text(c, r) for c in changes])
    error = result.get("error")
    if error and result["status"] in ("error", "interrupted") and not counts["failures"]:
        case = ET.SubElement(suite, "testcase", {"name": "(run)", "classname": pattern, "time": "0.000"})
        ET.SubElement(case, "error", {"message": _text(error.get("message", ""), r),
                                      "type": _text(error.get("kind") or "error", r)}).text = _text(error.get("message", ""), r)
        counts["errors"] += 1
    tests = len(suite.findall("testcase"))
    suite.attrib.update(tests=str(tests), **{k: str(v) for k, v in counts.items()})
    root = ET.Element("testsuites", {"name": f"runner {pattern}", "tests": str(tests),
                                     "time": suite.attrib["time"], **{k: str(v) for k, v in counts.items()}})
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _cell(value: Any, redactor: Redactor, limit: int = 80) -> str:
    if value is None or value == "":
        return "–"
    text = " ".join(_text(value, redactor).split())  # one line
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|").replace("<", "&lt;")


def _votes(aggregation: Mapping[str, Any] | None) -> str:
    if not aggregation or not aggregation.get("votes"):
        return "–"
    votes = " · ".join(f"{k} {v:g}" for k, v in aggregation["votes"].items())
    agreement = aggregation.get("agreement")
    return votes + (f" ({agreement:.0%})" if isinstance(agreement, (int, float)) else "")


#: Mermaid fill and stroke per step state (GitHub renders ```mermaid blocks)
MERMAID_STYLE = {"succeeded": "#dafbe1,stroke:#2e9e4f", "failed": "#ffebe9,stroke:#d1342f",
                 "running": "#ddf4ff,stroke:#2f6fd1", "cancelled": "#fbefff,stroke:#a66bbf",
                 "skipped": "#f6f8fa,stroke:#9aa0a6", "pending": "#eef1f4,stroke:#8c959f",
                 "waiting": "#fff8c5,stroke:#bf8700"}


def _mermaid_text(text: str) -> str:
    """Text safe inside a quoted Mermaid label (its own entity codes, no markup)."""
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
            .replace("\n", " ").replace("`", "#96;"))


def mermaid_dag(model: RunModel, redactor: Redactor | None = None) -> str:
    """The run's steps as a Mermaid flowchart: one node per step labelled ``id: state``, coloured."""
    r = redactor or Redactor()
    ids = {sid: f"s{i}" for i, sid in enumerate(model.steps)}
    lines = ["flowchart TD"]
    for sid, step in model.steps.items():
        state = step.status if step.status in MERMAID_STYLE else "pending"
        label = "reused" if step.reused_from else step.status  # --resume, cache: true
        lines.append(f'  {ids[sid]}["{_mermaid_text(_text(sid, r, 60))}: {_mermaid_text(label)}"]:::{state}')
    for sid, step in model.steps.items():
        lines += [f"  {ids[n]} --> {ids[sid]}" for n in step.needs if n in ids]
    lines += [f"  classDef {k} fill:{v}" for k, v in MERMAID_STYLE.items()]
    return "\n".join(lines)


def usage_text(used: Mapping[str, Any]) -> str:
    """``1200 tokens (80 cached) · $0.0048 · 3 turns``: what was reported, nothing else."""
    parts = []
    if {"input_tokens", "output_tokens"} & set(used):
        cached = f" ({used['cache_read_tokens']} cached)" if used.get("cache_read_tokens") else ""
        parts.append(f"{usage.tokens(used)} tokens{cached}")
    if "cost_usd" in used:
        parts.append(f"${used['cost_usd']:.4f}")
    if "turns" in used:
        parts.append(f"{used['turns']} turns")
    return " · ".join(parts)


def markdown_summary(result: Mapping[str, Any], redactor: Redactor | None = None, *,
                     model: RunModel | None = None, html: Path | None = None) -> str:
    """A Markdown report: headline, the HTML report's path, the DAG (Mermaid, when ``model``), a table
    of steps (status, output, confidence, votes, time), errors."""
    r = redactor or Redactor()
    status = result["status"]
    lines = [f"### {STATUS_ICON.get(status, '')} runner: {_cell(result['pattern']['name'], r)} {status}".replace("  ", " "),
             "",
             f"Run `{_cell(result['runId'], r)}` · exit code {result['exitCode']} · "
             f"{_seconds(result.get('durationMs'))} s · {len(result.get('agents') or [])} agents"
             + (f" · {usage_text(result['usage'])}" if result.get("usage") else ""),
             ""]
    if html is not None:
        lines += [f"Report: [`{_cell(str(html), r, 200)}`]({_cell(str(html), r, 200).replace(' ', '%20')}) "
                  "(a self-contained HTML file: open it from the job's artifacts)", ""]
    if model is not None and model.steps:
        lines += ["```mermaid", mermaid_dag(model, r), "```", ""]
    lines += ["| Step | Status | Output | Confidence | Votes | Time | Tokens | Cost |",
              "|---|---|---|---:|---|---:|---:|---:|"]
    for step in result.get("steps") or []:
        conf = step.get("confidence")
        used = step.get("usage") or {}
        tokens = usage.tokens(used) if {"input_tokens", "output_tokens"} & set(used) else None
        cost = "–" if "cost_usd" not in used else f"${used['cost_usd']:.4f}"
        lines.append(f"| {_cell(step['id'], r)} | {STATUS_ICON.get(step['status'], '')} {step['status']} "
                     f"| {_cell(step.get('output'), r)} | {'–' if conf is None else f'{conf:.2f}'} "
                     f"| {_cell(_votes(step.get('aggregation')), r)} | {_seconds(step.get('durationMs'))} s "
                     f"| {'–' if tokens is None else tokens} "
                     f"| {cost} |")
    changed = [(s["id"], line) for s in result.get("steps") or [] for line in step_change_lines(s)]
    if changed:
        lines += ["", "**Changes**", ""]
        lines += [f"- `{_cell(sid, r)}`: {_cell(line, r, 300)}" for sid, line in changed]
    problems = [(s["id"], s.get("error")) for s in result.get("steps") or [] if s.get("error")]
    if result.get("error"):
        problems.insert(0, ("run", result["error"]))
    if problems:
        lines += ["", "**Errors**", ""]
        lines += [f"- `{_cell(where, r)}` ({_cell(e.get('kind'), r)}): {_cell(e.get('message'), r, 300)}"
                  for where, e in problems]
    return "\n".join(lines) + "\n"


def append_github_summary(result: Mapping[str, Any], redactor: Redactor | None = None,
                          environ: Mapping[str, str] | None = None, *, model: RunModel | None = None,
                          html: Path | None = None) -> Path | None:
    """Append ``markdown_summary`` to ``$GITHUB_STEP_SUMMARY`` when set; returns the file written."""
    target = (os.environ if environ is None else environ).get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(markdown_summary(result, redactor, model=model, html=html) + "\n")
    return path
