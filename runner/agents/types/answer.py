"""The task prompt the CLI types send, and reading the ``CONFIDENCE: 0.x`` marker back.

None of the four CLIs reports a confidence, so the prompt asks for a marker line; the
answer is the text without it.
"""

from __future__ import annotations

import json
import re

from runner.agents.model import TaskRequest

CONFIDENCE_INSTRUCTION = (
    "When you are done, end your answer with one line `CONFIDENCE: <a number between 0 and 1>` "
    "saying how sure you are of the answer."
)
_MARKER = re.compile(r"^\W*CONFIDENCE:\s*\**\s*([01](?:\.\d+)?|\.\d+)\s*\**\s*$", re.IGNORECASE | re.MULTILINE)


def task_prompt(request: TaskRequest) -> str:
    """The prompt for one task: description, its data (JSON) when any, the confidence ask."""
    parts = [request.description.strip()]
    if request.data:
        parts.append("Input data (JSON):\n" + json.dumps(dict(request.data), indent=2, default=str))
    parts.append(CONFIDENCE_INSTRUCTION)
    return "\n\n".join(parts)


def split_confidence(text: str) -> tuple[str, float | None]:
    """``(answer without the marker, confidence)``; the last marker wins, clamped to 0..1."""
    found = list(_MARKER.finditer(text))
    if not found:
        return text.strip(), None
    last = found[-1]
    value = min(1.0, max(0.0, float(last.group(1))))
    return (text[: last.start()] + text[last.end():]).strip(), value
