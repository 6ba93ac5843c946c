"""Metrics of a real local process tree, and their Prometheus text form."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from runner.observe.metrics import process_metrics, prometheus_text

# A parent that burns CPU for a moment, with a child that holds ~20 MB.
TREE = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "b = bytearray(20_000_000); import time; time.sleep(60)"])
end = time.time() + 0.3
while time.time() < end:
    pass
print("ready", flush=True)
time.sleep(60)
"""


@pytest.fixture
def tree():
    proc = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    yield proc
    kill_tree(proc)


def kill_tree(proc: subprocess.Popen) -> None:
    try:
        for child in psutil.Process(proc.pid).children(recursive=True):
            child.kill()
    except psutil.NoSuchProcess:
        pass
    proc.kill()
    proc.wait()
    proc.stdout.close()


def test_process_metrics_sum_the_tree(tree):
    deadline = time.monotonic() + 10
    while True:  # wait until the child has allocated its 20 MB
        m = process_metrics(tree.pid, message_count=2)
        children = psutil.Process(tree.pid).children()
        if m["memory"] > 20_000_000 + psutil.Process(tree.pid).memory_info().rss or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert children, "the child process runs"
    assert m["memory"] > 20_000_000 + psutil.Process(tree.pid).memory_info().rss
    assert m["cpu"] > 1.0  # the parent burned 0.3 s of CPU
    assert 300 <= m["uptime"] < 60_000
    assert m["messageCount"] == 2
    assert set(process_metrics(tree.pid)) == {"cpu", "memory", "uptime"}


def test_process_metrics_report_exit(tree):
    kill_tree(tree)
    assert process_metrics(tree.pid) is None


def test_prometheus_text_parses():
    text = prometheus_text({"a1": {"cpu": 12.5, "memory": 1024, "uptime": 1500, "messageCount": 3},
                            'we"ird\\': {"cpu": 0.0, "memory": 7, "uptime": 0}}, labels={"run": "r1"})
    assert 'runner_agent_cpu_percent{agent="a1",run="r1"} 12.5' in text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["runner_agent_cpu_percent"].type == "gauge"
    assert families["runner_agent_messages"].type == "counter"
    samples = {(s.name, s.labels["agent"]): s.value for f in families.values() for s in f.samples}
    assert samples == {
        ("runner_agent_cpu_percent", "a1"): 12.5, ("runner_agent_cpu_percent", 'we"ird\\'): 0.0,
        ("runner_agent_memory_bytes", "a1"): 1024, ("runner_agent_memory_bytes", 'we"ird\\'): 7,
        ("runner_agent_uptime_seconds", "a1"): 1.5, ("runner_agent_uptime_seconds", 'we"ird\\'): 0,
        ("runner_agent_messages_total", "a1"): 3,
    }
    assert prometheus_text({}) == ""
