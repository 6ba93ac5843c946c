"""A real run records each agent's metrics (cpu %, memory, uptime, messageCount) just before it
stops them: ``agent_metrics`` events in the journal and ``agents[].metrics`` in result.json."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from journal_fixture import hold_lock

from runner.api import apply
from runner.cli import main
from runner.context import RunContext
from runner.journal import read_events
from runner.observe.metrics import from_health
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

pytestmark = pytest.mark.pty

PROGRAMS = Path(__file__).parents[1] / "helpers" / "programs"
POOL = {"name": "local", "agents": [
    {"id": "repl1", "command": [sys.executable, str(PROGRAMS / "repl.py")], "mode": "long-lived",
     "readyPattern": "^agent> $", "capabilities": ["work"]},
    {"id": "once", "command": [sys.executable, str(PROGRAMS / "answer_json.py")], "capabilities": ["work"]}]}
PATTERN = {"name": "measured", "steps": [
    {"id": "a", "agents": {"capabilities": ["work"], "min": 2}, "task": "one", "strategy": "parallel",
     "aggregation": {"type": "all"}},
    {"id": "b", "needs": ["a"], "agents": {"capabilities": ["work"], "min": 2}, "task": "two",
     "strategy": "parallel", "aggregation": {"type": "all"}}]}


def run(tmp_path: Path):
    pattern = parse_pattern(json.dumps(PATTERN), str(tmp_path / "p.yaml"))
    pool = parse_pool(json.dumps(POOL), str(tmp_path / "pool.yaml"))
    return apply(pattern, pool, {}, ctx=RunContext(pattern_name="measured", state_dir=tmp_path))


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    return run(tmp_path_factory.mktemp("state"))


def test_journal_and_result_hold_each_agents_metrics(measured):
    outcome = measured
    assert outcome.exit_code == 0, outcome.result
    events = [e for e in read_events(Path(outcome.run_dir)) if e["event"] == "agent_metrics"]
    by_agent = {e["agent"]: e for e in events}
    assert sorted(by_agent) == ["once", "repl1"]
    repl = by_agent["repl1"]
    assert repl["runtime"] == "local"
    # the long-lived agent's process was measured while it still ran
    assert repl["messageCount"] == 2
    assert repl["memory"] > 1_000_000
    assert 0 <= repl["cpu"] < 400
    assert 0 < repl["uptime"] < 60_000
    # a per-task agent has no process left between tasks: what its task programs used
    # (CPU time over its uptime, the largest resident size of one: a Python interpreter)
    once = by_agent["once"]
    assert once["messageCount"] == 2 and 0 < once["uptime"] < 60_000
    assert 1_000_000 < once["memory"] < 1_000_000_000
    assert 0 < once["cpu"] < 400
    # the journal's cleanup_started comes first, the metrics before the agents were stopped
    names = [e["event"] for e in read_events(Path(outcome.run_dir))]
    assert names.index("cleanup_started") < names.index("agent_metrics") < names.index("run_finished")
    agents = {a["id"]: a["metrics"] for a in outcome.result["agents"]}
    assert agents["repl1"] == {k: repl[k] for k in ("cpu", "memory", "uptime", "messageCount")}
    assert agents["once"] == {k: once[k] for k in ("cpu", "memory", "uptime", "messageCount")}
    on_disk = json.loads((Path(outcome.run_dir) / "result.json").read_text())
    assert {a["id"]: a["metrics"] for a in on_disk["agents"]} == agents


def test_remote_metrics_become_the_common_form():
    # What an agent server's /metrics says (CPU seconds, uptime seconds) → cpu %, uptime ms.
    assert from_health({"cpu": 1.5, "memory": 4096, "uptime": 3.0, "messageCount": 4}) == \
        {"cpu": 50.0, "memory": 4096, "uptime": 3000, "messageCount": 4}
    assert from_health({"uptime": 0.25, "messageCount": 0, "active": 0}) == {"uptime": 250, "messageCount": 0}
    assert from_health({"pid": 2**22 + 12345, "uptime": 1}) == {"uptime": 1000}  # a pid that is gone
    assert from_health({}) == {}


def status(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["agents", "status", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_agents_status_prints_the_runs_agents(measured):
    state_dir = str(Path(measured.run_dir).parents[1])
    code, out = status("--state-dir", state_dir)  # latest by default
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == f"run {measured.result['runId']} (succeeded)"
    assert lines[1].split() == ["AGENT", "TYPE", "RUNTIME", "STATE", "LAST", "EVENT", "MESSAGES", "CPU",
                                "MEMORY", "UPTIME"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert rows["repl1"][:6] == ["repl1", "command", "local", "stopped", "agent_metrics", "2"]
    assert rows["repl1"][6].endswith("%") and rows["repl1"][7].endswith("MiB") and rows["repl1"][8].endswith("s")
    assert rows["once"][5] == "2" and rows["once"][6].endswith("%") and rows["once"][7].endswith("MiB")
    code, out = status("--run", measured.result["runId"], "--state-dir", state_dir, "--json")
    doc = json.loads(out)
    agents = {a["id"]: a for a in doc["agents"]}
    metrics = {a["id"]: a["metrics"] for a in measured.result["agents"]}
    for agent_id in ("repl1", "once"):
        assert {k: v for k, v in agents[agent_id].items() if k in metrics[agent_id]} == metrics[agent_id]


def test_agents_status_of_a_running_run_reads_its_events(tmp_path):
    run_dir = tmp_path / "runs" / "r-live"
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({"runId": "r-live", "pid": os.getpid(),
                                                  "startedAt": "2026-11-25T15:00:00.000Z"}))
    events = [{"event": "step_started", "step": "a", "agents": ["x", "y"]},
              {"event": "attempt_started", "step": "a", "agent": "x"},
              {"event": "attempt_finished", "step": "a", "agent": "x", "status": "ok"},
              {"event": "attempt_started", "step": "b", "agent": "x"}]
    (run_dir / "events.jsonl").write_text("".join(json.dumps({"time": "t", **e}) + "\n" for e in events))
    with hold_lock(run_dir):  # as its runner does while the run goes on
        code, out = status("--run", "r-live", "--state-dir", str(tmp_path), "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["status"] == "running"
    agents = {a["id"]: (a["state"], a["lastEvent"], a["messageCount"]) for a in doc["agents"]}
    assert agents == {"x": ("busy", "attempt_started", 2), "y": ("selected", "step_started", 0)}
    code, out = status("--run", "nope", "--state-dir", str(tmp_path))
    assert code != 0 and "no run 'nope'" in out


def test_live_agents_are_sampled_on_each_health_check(tmp_path):
    """With healthInterval 0.1 s, a task busy for 1 s gets sampled while it runs: `agent_metrics`
    events marked `sampled`, before the cleanup's own measurement."""
    pool = dict(POOL, healthInterval="0.1s", agents=[POOL["agents"][0]])
    pattern = {"name": "sampled", "steps": [
        {"id": "busy", "agents": {"capabilities": ["work"]}, "task": "slow", "timeout": "1s"}]}
    outcome = apply(parse_pattern(json.dumps(pattern), str(tmp_path / "p.yaml")),
                    parse_pool(json.dumps(pool), str(tmp_path / "pool.yaml")), {},
                    ctx=RunContext(pattern_name="sampled", state_dir=tmp_path))
    assert outcome.result["steps"][0]["attempts"][0]["errorKind"] == "timeout"  # busy the whole second
    events = list(read_events(Path(outcome.run_dir)))
    names = [e["event"] for e in events]
    samples = [e for e in events[: names.index("cleanup_started")] if e["event"] == "agent_metrics"]
    assert samples and all(e["sampled"] is True and e["agent"] == "repl1" for e in samples)
    assert all(e["memory"] > 1_000_000 and e["uptime"] > 0 for e in samples)
