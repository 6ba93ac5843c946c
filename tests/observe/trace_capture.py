"""Capture the console exporter's spans in a test (a uniquely named helper module)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from runner.observe import trace


@contextmanager
def console_spans(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Tracing on with the console exporter writing one JSON span a line into the yielded stream."""
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    out = io.StringIO()
    trace.shutdown()
    assert trace.configure(stream=out)
    try:
        yield out
    finally:
        trace.shutdown()


def parse_spans(text: str) -> list[dict]:
    """Every span the console exporter wrote (one compact JSON object a line)."""
    return [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]


def by_name(spans: list[dict], name: str) -> list[dict]:
    return [s for s in spans if s["name"] == name]
