"""An agent server's ``GET /metrics``: JSON by default, Prometheus text when asked."""

from __future__ import annotations

import json
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families
from protocol_helpers import make_remote, served

from runner.agents.model import TaskRequest

pytestmark = pytest.mark.pty


def get(url: str, accept: str | None = None) -> tuple[str, str]:
    headers = {"Accept": accept} if accept else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as reply:
        return reply.headers["Content-Type"], reply.read().decode()


@pytest.fixture(scope="module")
def server():
    with served(agent_id="m1") as s:
        handle = make_remote(s.urls["http"], agent_id="m1")
        handle.start()
        for n in range(2):
            handle.execute(TaskRequest(task_id=f"t{n}", description="hi", timeout=10))
        handle.stop()
        yield s


@pytest.mark.parametrize(("query", "accept"), [
    ("?format=prometheus", None),
    ("", "text/plain"),
    ("", "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
])
def test_prometheus_text_when_asked(server, query, accept):
    content_type, text = get(server.urls["http"] + "/metrics" + query, accept)
    assert content_type.startswith("text/plain; version=0.0.4")
    samples = {s.name: s for f in text_string_to_metric_families(text) for s in f.samples}
    assert set(samples) == {"runner_agent_cpu_percent", "runner_agent_memory_bytes",
                            "runner_agent_uptime_seconds", "runner_agent_messages_total",
                            "runner_agent_input_tokens_total", "runner_agent_output_tokens_total"}
    # the worker reports one token per character of "hi" in and out; nothing about cache or cost
    assert samples["runner_agent_input_tokens_total"].value == samples["runner_agent_output_tokens_total"].value == 4
    for sample in samples.values():
        assert sample.labels == {"agent": "m1", "type": "command", "runtime": "local"}
    assert samples["runner_agent_messages_total"].value == 2
    assert samples["runner_agent_memory_bytes"].value > 1_000_000  # the server and its agent
    assert 0 < samples["runner_agent_uptime_seconds"].value < 120
    assert samples["runner_agent_cpu_percent"].value >= 0


@pytest.mark.parametrize("accept", [None, "application/json", "*/*", "application/json, text/plain"])
def test_json_stays_the_default(server, accept):
    content_type, text = get(server.urls["http"] + "/metrics", accept)
    assert content_type == "application/json"
    body = json.loads(text)
    assert set(body) == {"cpu", "memory", "uptime", "messageCount", "usage"} and body["messageCount"] == 2
    assert body["usage"] == {"input_tokens": 4, "output_tokens": 4, "turns": 2}
