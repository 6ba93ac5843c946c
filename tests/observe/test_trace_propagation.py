"""Trace context goes from the run to a real agent server (HTTP header, gRPC metadata): the
server's ``handle-task`` span is a child of the client's ``execute-task`` span."""

from __future__ import annotations

import pytest
from protocol_helpers import make_remote, served
from trace_capture import by_name, console_spans, parse_spans

from runner.agents.model import TaskRequest
from runner.observe import trace

pytestmark = pytest.mark.pty


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_agent_server_span_joins_the_callers_trace(monkeypatch, protocol):
    with console_spans(monkeypatch) as out, served() as server:
        handle = make_remote(server.urls[protocol])
        try:
            handle.start()
            with trace.span(trace.EXECUTE_TASK, agent_id="w1") as span:
                result = handle.execute(TaskRequest(task_id=f"t-{protocol}", description="hi", timeout=10))
                parent = span.raw.get_span_context()
        finally:
            handle.stop()
    assert result.result == "HI"
    [server_span] = by_name(parse_spans(out.getvalue()), "handle-task")
    # The server thread has no span of its own: only the propagated context can make this the parent.
    assert server_span["parent_id"] == f"0x{parent.span_id:016x}"
    assert server_span["context"]["trace_id"] == f"0x{parent.trace_id:032x}"
    assert server_span["attributes"] == {"task.id": f"t-{protocol}", "agent.id": "w1", "agent.type": "command"}


def test_a_call_outside_any_span_starts_its_own_trace(monkeypatch):
    with console_spans(monkeypatch) as out, served() as server:
        handle = make_remote(server.urls["http"])
        try:
            handle.start()
            handle.execute(TaskRequest(task_id="t-root", description="hi", timeout=10))
        finally:
            handle.stop()
    [server_span] = by_name(parse_spans(out.getvalue()), "handle-task")
    assert server_span["parent_id"] is None


def test_no_trace_header_when_tracing_is_off(monkeypatch):
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    trace.shutdown()
    with served() as server:
        seen = []
        original = server.service.execute
        monkeypatch.setattr(server.service, "execute",
                            lambda request, trace_context=None: seen.append(trace_context) or original(request))
        handle = make_remote(server.urls["http"])
        try:
            handle.start()
            assert handle.execute(TaskRequest(task_id="t-off", description="hi", timeout=10)).result == "HI"
        finally:
            handle.stop()
    assert seen == [None]
