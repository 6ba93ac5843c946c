"""Screen rule tables: which rendered text / window title means which CLI state.

One YAML file per CLI and version range in ``runner/agents/types/screens/`` (package data),
so that a CLI update is a data change. A file looks like::

    cli: claude
    versions: ["2.1"]          # version prefixes this table was checked against
    rules:                     # ordered: the first rule that matches wins
      - name: trust-dialog
        state: dialog
        screen: 'Is this a project you created or one you trust\\?'
        keys: "\\x1b[B\\r"     # optional: what answers it (Down, Enter)
        approve: "1"           # approval rules: keys that approve once / deny
        deny: "\\x1b"
      - name: busy-title
        state: busy
        title: '^[◐◑◒◓]'       # regex on the OSC 0 window title
        status: 'state=working'  # regex on the CLI's own state report (OSC 7501), if it sends one
        absent: 'Do you want to proceed\\?'   # optional: rule does not apply if this is on screen
        instruction: 'https://\\S+'            # optional: extra text to report (login URL)
    answer:                    # where the final answer sits on the rendered screen
      start: '^● '
      end: 'for \\d+s · done'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from runner.errors import ConfigurationError

_STATES = {"starting", "dialog", "ready", "login_required", "approval", "busy", "done", "error"}


@dataclass(frozen=True, kw_only=True)
class Rule:
    name: str
    state: str
    screen: re.Pattern[str] | None = None
    title: re.Pattern[str] | None = None
    status: re.Pattern[str] | None = None
    absent: re.Pattern[str] | None = None
    instruction: re.Pattern[str] | None = None
    keys: str | None = None  # keystrokes that answer a dialog (seeded runs never need them)
    yes: str | None = None  # approval: keystrokes that approve once
    no: str | None = None  # approval: keystrokes that deny


@dataclass(frozen=True, kw_only=True)
class ScreenTable:
    cli: str
    versions: tuple[str, ...]
    rules: tuple[Rule, ...]
    answer_start: re.Pattern[str] | None = None  # the first line of an answer block (`● `)
    answer_end: re.Pattern[str] | None = None  # the line after it (`Crunched for 3s · done`)
    submit_delay: float = 0.0  # s between typing a task and Enter (gemini reads a fast Enter as pasted)
    resubmit_after: float = 0.0  # s: Enter again when a typed task has not started by then

    def rule(self, name: str) -> Rule:
        return next(r for r in self.rules if r.name == name)


def _rx(value: str | None) -> re.Pattern[str] | None:
    return re.compile(value, re.MULTILINE) if value is not None else None


def parse_table(data: dict, origin: str) -> ScreenTable:
    """Build a table from its YAML mapping; a bad table is a ConfigurationError naming ``origin``."""
    rules = []
    for i, raw in enumerate(data.get("rules") or []):
        if raw.get("state") not in _STATES or not (raw.get("screen") or raw.get("title") or raw.get("status")):
            raise ConfigurationError(f"{origin}: $.rules[{i}]: needs a known `state` and `screen`, `title` or `status`")
        try:
            rules.append(Rule(name=str(raw.get("name") or f"rule{i}"), state=raw["state"],
                              screen=_rx(raw.get("screen")), title=_rx(raw.get("title")), status=_rx(raw.get("status")),
                              absent=_rx(raw.get("absent")), instruction=_rx(raw.get("instruction")),
                              keys=raw.get("keys"), yes=raw.get("approve"), no=raw.get("deny")))
        except re.error as exc:
            raise ConfigurationError(f"{origin}: $.rules[{i}]: bad regex: {exc}") from exc
    answer = data.get("answer") or {}
    return ScreenTable(cli=str(data["cli"]), versions=tuple(str(v) for v in data.get("versions") or ()),
                       rules=tuple(rules), answer_start=_rx(answer.get("start")), answer_end=_rx(answer.get("end")),
                       submit_delay=float(data.get("submit_delay") or 0.0),
                       resubmit_after=float(data.get("resubmit_after") or 0.0))


@cache
def load_table(cli: str, version: str | None = None) -> ScreenTable:
    """The table for ``cli`` whose version prefixes match ``version`` (else the newest file)."""
    files = sorted((f for f in resources.files("runner.agents.types.screens").iterdir()
                    if f.name.startswith(cli + "-") and f.name.endswith(".yaml")), key=lambda f: f.name)
    if not files:
        raise ConfigurationError(f"no screen table for `{cli}`")
    tables = [parse_table(yaml.safe_load(f.read_text(encoding="utf-8")), f.name) for f in files]
    if version:
        for table in reversed(tables):
            if any(version.startswith(v) for v in table.versions):
                return table
    return tables[-1]
