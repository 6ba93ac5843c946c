"""One-line descriptions of a step's captured changes, for the terminal summary, JUnit and the
GitHub step summary (all read ``result.json``'s ``changes`` / ``change`` / ``landed``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def change_line(change: Mapping[str, Any]) -> str:
    """``hasty#2: 1 file (+1 -1), verified`` — whose change, how big, verify result."""
    files = change.get("files") or []
    verify = change.get("verify")
    checked = "" if verify is None else ", verified" if verify.get("ok") else ", verify failed"
    size = "no change" if change.get("empty") else \
        f"{len(files)} file{'s' if len(files) != 1 else ''} (+{change.get('insertions', 0)} -{change.get('deletions', 0)})"
    return f"{change.get('agent')}#{change.get('attempt')}: {size}{checked}"


def landed_line(landed: Mapping[str, Any]) -> str:
    mode = landed.get("mode")
    if mode == "branch":
        return f"landed as branch {landed.get('branch')} ({str(landed.get('commit', ''))[:12]})"
    if mode == "patch":
        return f"landed as patch {landed.get('path')}"
    return f"applied to {landed.get('path')}"


def step_change_lines(step: Mapping[str, Any]) -> list[str]:
    """Every change of a step (result.json form), then the chosen one and where it landed."""
    if "changes" not in step:
        return []
    lines = [f"change {change_line(c)}" for c in step.get("changes") or []]
    chosen = step.get("change")
    if chosen:
        lines.append(f"chosen {chosen.get('agent')}#{chosen.get('attempt')}: {chosen.get('patch')}")
    if step.get("landed"):
        lines.append(landed_line(step["landed"]))
    return lines
