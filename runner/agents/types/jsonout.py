"""Reading machine output (JSON / JSON lines) out of a PTY transcript, and failure kinds."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from runner.errors import AgentFailure, FailureKind

_ANSI = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-B]|\x1b[=>78]")


def clean(output: str) -> str:
    """Escape sequences and carriage returns removed (a PTY turns \\n into \\r\\n)."""
    return _ANSI.sub("", output).replace("\r\n", "\n").replace("\r", "\n")


def json_objects(output: str) -> Iterator[dict[str, Any]]:
    """Every line of the transcript that is a JSON object, in order; a multi-line object too."""
    text = clean(output)
    decoder = json.JSONDecoder()
    i = 0
    while True:
        i = text.find("{", i)
        if i < 0:
            return
        try:
            obj, end = decoder.raw_decode(text, i)
        except ValueError:
            i += 1
            continue
        if isinstance(obj, dict):
            yield obj
        i = end


def tail(output: str, n: int = 600) -> str:
    return clean(output).strip()[-n:]


LOGIN_HINTS = re.compile(r"not logged in|please run /login|set an auth method|no api key|"
                         r"sign in with|login to openrouter", re.IGNORECASE)
AUTH_HINTS = re.compile(r"invalid api key|\b401\b|unauthori[sz]ed|authenticationerror|api key not valid|"
                        r"not able to authenticate", re.IGNORECASE)


def failure_for(message: str, agent_id: str = "", output: str = "") -> AgentFailure:
    """An AgentFailure whose kind follows the message: login, refused key (config), else task."""
    if LOGIN_HINTS.search(message):
        kind = FailureKind.LOGIN
    elif AUTH_HINTS.search(message):
        kind = FailureKind.CONFIG
    else:
        kind = FailureKind.TASK
    return AgentFailure(kind, message.strip()[:500], agent_id=agent_id, output=output)
