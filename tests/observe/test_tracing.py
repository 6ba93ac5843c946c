"""Span tree through the console exporter, built the way the executor calls the API."""

from __future__ import annotations

import io
import json

import pytest
from observe_secrets import MULTI, PLAIN, WEIRD, leaks

from runner.observe import trace
from runner.observe.redact import Redactor


@pytest.fixture
def console(monkeypatch):
    """Tracing on with the console exporter writing to a captured stream."""
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    out = io.StringIO()
    trace.shutdown()
    assert trace.configure(stream=out)
    yield out
    trace.shutdown()


def spans(out: io.StringIO) -> dict[str, dict]:
    docs = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    return {d["name"] + ("#" + d["attributes"].get("agent.id", "") if "agent.id" in d["attributes"] else ""): d
            for d in docs}


def run_like_the_executor() -> dict[str, str]:
    with trace.span(trace.PATTERN_EXECUTION, pattern_name="review", run_id="r1"):
        with trace.span(trace.SELECT_AGENTS, step_id="lint", capabilities=("python", "lint"), agent_count=2):
            pass
        for agent in ("a1", "a2"):
            with trace.span(trace.SPAWN_AGENT, agent_id=agent, agent_type="command", runtime="local"):
                pass
        with trace.span(trace.EXECUTE_TASK, step_id="lint", agent_id="a1") as s:
            headers = trace.inject_headers({})
            s.set(confidence=0.9, duration_ms=12)
        with trace.span(trace.CLEANUP_AGENTS, agent_count=2):
            pass
    return headers


def test_span_tree_has_parents_and_attributes(console):
    headers = run_like_the_executor()
    got = spans(console)
    root = got["pattern-execution"]
    assert root["parent_id"] is None
    assert root["attributes"] == {"pattern.name": "review", "run.id": "r1"}
    root_id = root["context"]["span_id"]
    for name in ("select-agents", "spawn-agent#a1", "spawn-agent#a2", "execute-task#a1", "cleanup-agents"):
        assert got[name]["parent_id"] == root_id, name
        assert got[name]["context"]["trace_id"] == root["context"]["trace_id"]
    assert got["select-agents"]["attributes"] == {"step.id": "lint", "capabilities": ["python", "lint"],
                                                  "agent.count": 2}
    assert got["spawn-agent#a2"]["attributes"] == {"agent.id": "a2", "agent.type": "command", "runtime": "local"}
    assert got["execute-task#a1"]["attributes"] == {"step.id": "lint", "agent.id": "a1", "confidence": 0.9,
                                                    "duration_ms": 12}
    assert got["cleanup-agents"]["attributes"] == {"agent.count": 2}
    # The W3C header handed to an agent server names the execute-task span as parent.
    trace_id, span_id = root["context"]["trace_id"][2:], got["execute-task#a1"]["context"]["span_id"][2:]
    version, tid, sid, flags = headers["traceparent"].split("-")
    assert (version, tid, sid) == ("00", trace_id, span_id)
    assert int(flags, 16) & 1  # sampled


def test_agent_server_span_joins_the_run_trace(console):
    with trace.span(trace.EXECUTE_TASK, agent_id="a1") as s:
        metadata = list(trace.inject_headers().items())  # gRPC metadata form
        parent_id = s.raw.get_span_context().span_id
    # What the agent server does with the incoming metadata:
    with trace.span("handle-task", context=trace.extract(metadata)):
        pass
    got = spans(console)
    assert got["handle-task"]["parent_id"] == f"0x{parent_id:016x}"
    assert got["handle-task"]["context"]["trace_id"] == got["execute-task#a1"]["context"]["trace_id"]


def test_exception_marks_span_failed_and_is_redacted(console, redactor, secrets):
    trace.set_redactor(redactor)
    try:
        with pytest.raises(RuntimeError), trace.span(trace.SPAWN_AGENT, agent_id="x", command=f"run {PLAIN}"):
            raise RuntimeError(f"refused {PLAIN} / {json.dumps(MULTI)}")
        with trace.span(trace.EXECUTE_TASK, agent_id="y") as s:
            s.error("task", f"answer held {WEIRD}")
    finally:
        trace.set_redactor(Redactor())
    got = spans(console)["spawn-agent#x"]
    assert got["status"]["status_code"] == "ERROR"
    assert got["events"][0]["name"] == "exception"
    assert got["events"][0]["attributes"]["exception.message"].startswith("refused *** / ")
    assert got["attributes"]["command"] == "run ***"
    assert spans(console)["execute-task#y"]["status"]["description"] == "answer held ***"
    assert not leaks(console.getvalue(), secrets)


def test_disabled_is_a_shared_noop(monkeypatch):
    for var in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    trace.shutdown()
    assert trace.tracer() is trace.NOOP_TRACER
    with trace.tracer().start_as_current_span("x") as raw:
        raw.set_attribute("a", 1)
    assert trace.span("a") is trace.span("b", agent_id="x")  # no allocation per span
    with trace.span("a") as s:
        s.set(confidence=1.0)
        s.error("task", "ignored")
    assert trace.inject_headers({"x": "1"}) == {"x": "1"}
    assert trace.extract({}) is None


@pytest.mark.parametrize(("env", "on"), [
    ({"OTEL_TRACES_EXPORTER": "console"}, True),
    ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
    ({"OTEL_TRACES_EXPORTER": "none"}, False),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
    ({"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}, False),
    ({}, False),
])
def test_enabled_follows_the_standard_variables(env, on):
    assert trace.enabled(env) is on
