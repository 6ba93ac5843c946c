"""One vocabulary of failure: every failure a run records is a documented FailureKind, every
attempt ends on record, and ``retry.limit`` counts the extra attempts after the first everywhere."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

import runner.execute.outcome as outcome_module
from runner.agents.inprocess import PythonAgent
from runner.api import apply, plan
from runner.context import RunContext
from runner.errors import AgentFailure, FailureKind, SpecError, StepFailed, as_failure
from runner.journal import read_events
from runner.observe.report import validate_result
from runner.plan.render import render_text
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

POOL = parse_pool("kind: pool\nname: test\n", "pool.yaml")
DOCUMENTED = {"infrastructure", "crash", "timeout", "hang", "task", "parse", "validation", "login", "config",
              "cancelled", "verify", "no-change", "denied", "land", "budget"}  # docs/results.md, attempts' errorKind


def run(tmp_path: Path, text: str, handles):
    return apply(parse_pattern(text, "pattern.yaml"), POOL, {}, ctx=RunContext(state_dir=tmp_path), handles=handles)


def kinds_on_record(outcome) -> set[str]:
    """Every failure kind the result and the journal hold."""
    result = outcome.result
    kinds = {a["errorKind"] for s in result["steps"] for a in s["attempts"] if a["errorKind"]}
    kinds |= {s["error"]["kind"] for s in result["steps"] if s["error"]}
    kinds |= {e["errorKind"] for e in read_events(Path(outcome.run_dir)) if e.get("errorKind")}
    return kinds


def test_the_documented_kinds_are_failure_kind():
    assert {k.value for k in FailureKind} == DOCUMENTED
    text = (Path(__file__).parents[2] / "docs" / "results.md").read_text()
    assert "`errorKind` (one of `" + " ".join(k.value for k in FailureKind) + "`;" in text


class BrokenAdapter(PythonAgent):
    """An agent whose adapter itself fails the way a driver bug or an fd limit does."""

    def execute(self, request, on_output=None):
        raise ValueError("filedescriptor out of range in select()")


def test_an_adapter_that_raises_anything_ends_its_attempts_as_infrastructure_on_record(tmp_path):
    text = """
name: broken
steps:
  - id: work
    agents: {capabilities: [w]}
    task: go
    retry: {limit: 1, backoff: {initial: 1ms}}
"""
    outcome = run(tmp_path, text, [BrokenAdapter("b", lambda r: "never", capabilities=("w",))])
    assert validate_result(outcome.result) == []
    step = outcome.result["steps"][0]
    assert [(a["attempt"], a["status"], a["errorKind"]) for a in step["attempts"]] == [
        (1, "failed", "infrastructure"), (2, "failed", "infrastructure")]  # retried: infrastructure is in retry.on
    assert step["attempts"][0]["error"] == "b: internal error: ValueError: filedescriptor out of range in select()"
    assert step["error"]["kind"] == "infrastructure"
    assert (outcome.status, outcome.exit_code, outcome.result["error"]["kind"]) == ("error", 3, "infrastructure")
    assert kinds_on_record(outcome) == {"infrastructure"}
    finished = [e for e in read_events(Path(outcome.run_dir)) if e["event"] == "attempt_finished"]
    assert [e["status"] for e in finished] == ["failed", "failed"]  # no attempt left running


def test_a_bug_outside_any_attempt_is_recorded_with_a_documented_kind(tmp_path, monkeypatch):
    def broken_aggregate(*args, **kwargs):
        raise TypeError("unsupported operand")

    monkeypatch.setattr(outcome_module, "aggregate", broken_aggregate)
    text = """
name: bug
steps:
  - id: work
    agents: {capabilities: [w]}
    task: go
"""
    outcome = run(tmp_path, text, [PythonAgent("a", lambda r: "fine", capabilities=("w",))])
    assert validate_result(outcome.result) == []
    assert outcome.result["steps"][0]["error"] == {"kind": "infrastructure",
                                                    "message": "internal error: TypeError: unsupported operand"}
    assert kinds_on_record(outcome) <= DOCUMENTED


def test_as_failure_is_the_one_mapping_of_exceptions_to_kinds():
    from runner.errors import ConfigurationError, Diagnostic, InfrastructureError, LoginRequired, UsageError

    diag = Diagnostic(file="p.yaml", line=3, col=5, path="$.x", message="bad")
    cases = [
        (AgentFailure(FailureKind.HANG, "quiet"), FailureKind.HANG, "quiet"),
        (StepFailed(FailureKind.VALIDATION, "low"), FailureKind.VALIDATION, "low"),
        (LoginRequired("a", "run `claude login`"), FailureKind.LOGIN, "run `claude login`"),
        (SpecError([diag, diag]), FailureKind.CONFIG, "p.yaml:3:5: $.x: bad; p.yaml:3:5: $.x: bad"),
        (ConfigurationError("no token"), FailureKind.CONFIG, "no token"),
        (UsageError("bad flag"), FailureKind.CONFIG, "bad flag"),
        (InfrastructureError("etcd down"), FailureKind.INFRASTRUCTURE, "etcd down"),
        (OSError(24, "Too many open files"), FailureKind.INFRASTRUCTURE,
         "internal error: OSError: [Errno 24] Too many open files"),
    ]
    for exc, kind, message in cases:
        failure = as_failure(exc)
        assert (failure.kind, str(failure)) == (kind, message), exc
        assert failure is exc or failure.__cause__ is exc


def test_kinds_in_result_json_and_the_journal_are_plain_values(tmp_path):
    def failing(request):
        raise AgentFailure(FailureKind.TASK, "nope", agent_id="f")

    text = """
name: fail
steps:
  - id: work
    agents: {capabilities: [w]}
    task: go
"""
    outcome = run(tmp_path, text, [PythonAgent("f", failing, capabilities=("w",))])
    on_disk = json.loads((Path(outcome.run_dir) / "result.json").read_text())
    assert on_disk["steps"][0]["attempts"][0]["errorKind"] == "task"
    assert type(outcome.result["steps"][0]["attempts"][0]["errorKind"]) is str  # not the enum
    assert type(outcome.result["error"]["kind"]) is str and outcome.result["error"]["kind"] == "task"


# ---------------------------------------------------------------- retry.limit: the extra attempts after the first


LIMIT_2 = """
name: limits
failFast: false
steps:
  - id: flaky
    agents: {capabilities: [f]}
    task: go
    retry: {limit: 2, backoff: {initial: 1ms}, on: [crash]}
  - id: gate
    agents: {capabilities: [g]}
    task: go
    retry: {limit: 2, backoff: {initial: 1ms}}
    validation: {minConfidence: 0.9, onFailure: retry}
"""


@pytest.mark.parametrize("limit", [0, 2])
def test_retry_limit_means_the_extra_attempts_after_the_first(tmp_path, limit):
    calls: dict[str, int] = {"f": 0, "g": 0}

    def crash(request):
        calls["f"] += 1
        raise AgentFailure(FailureKind.CRASH, "died", agent_id="f")

    def unsure(request):
        calls["g"] += 1
        return {"result": "maybe", "confidence": 0.5}

    pattern = parse_pattern(LIMIT_2.replace("limit: 2", f"limit: {limit}"), "pattern.yaml")
    outcome = apply(pattern, POOL, {}, ctx=RunContext(state_dir=tmp_path),
                    handles=[PythonAgent("f", crash, capabilities=("f",)), PythonAgent("g", unsure, capabilities=("g",))])
    assert calls == {"f": 1 + limit, "g": 1 + limit}  # attempts on an agent; re-runs of a step failing validation
    flaky, gate = outcome.result["steps"]
    assert [a["attempt"] for a in flaky["attempts"]] == list(range(1, limit + 2))
    assert gate["error"]["kind"] == "validation"
    retried = [e for e in read_events(Path(outcome.run_dir)) if e["event"] == "step_retried"]
    assert len(retried) == limit
    shown = render_text(plan(pattern, POOL, {}, handles=[PythonAgent("f", crash, capabilities=("f",)),
                                                         PythonAgent("g", unsure, capabilities=("g",))]))
    assert (f"retry {limit}x on crash" in shown) is (limit > 0)


def test_docs_say_the_same_about_retry_limit():
    root = Path(__file__).parents[2]
    pattern_md = (root / "docs" / "pattern.md").read_text()
    assert "| `limit` | integer 0–100 | `0` | Extra attempts after the first. A task gets at most `1 + limit`" in pattern_md
    assert "the step is re-run at most `limit` times" in pattern_md
    execution = (root / "docs" / "execution.md").read_text()
    assert "(`limit` extra attempts after the first)" in execution
    assert "re-run the step's tasks, up to `retry.limit` times" in execution


def test_a_replacement_agent_does_not_reset_the_count(tmp_path):
    """A retry on another agent is still one of the task's ``limit`` retries."""
    calls: list[str] = []

    def die(agent_id):
        def fn(request):
            calls.append(agent_id)
            agents[agent_id].stop()  # now unhealthy: the retry goes to a spare
            raise AgentFailure(FailureKind.INFRASTRUCTURE, "gone", agent_id=agent_id)
        return fn

    agents = {i: PythonAgent(i, die(i), capabilities=("w",)) for i in ("a1", "a2", "a3", "a4")}
    text = """
name: spares
steps:
  - id: w
    agents: {capabilities: [w], prefer: [a1]}
    task: go
    retry: {limit: 2, backoff: {initial: 1ms}}
"""
    outcome = run(tmp_path, text, list(agents.values()))
    attempts = outcome.result["steps"][0]["attempts"]
    assert [(a["attempt"], a["agentId"]) for a in attempts] == [(1, "a1"), (2, "a2"), (3, "a3")]
    assert calls == ["a1", "a2", "a3"]  # a4 is never asked: two retries were all there was



def test_no_attempt_is_left_running_when_the_run_ends(tmp_path):
    """A race loser that cannot drop its task is still working when the run ends: its attempt
    ends ``cancelled`` on record (result.json's schema has no ``running`` attempt)."""
    release = threading.Event()
    slow_started = threading.Event()

    def slow(request):
        slow_started.set()
        release.wait(30)
        return "late"

    def fast(request):
        # answer only once the loser is working: a loser whose task never started is recorded
        # as having lost the race, which is another path (tests/execute/test_race_cancel.py)
        slow_started.wait(30)
        return "first"

    text = """
name: race
steps:
  - id: r
    agents: {capabilities: [w], min: 2}
    strategy: race
    task: go
"""
    try:
        outcome = run(tmp_path, text, [PythonAgent("fast", fast, capabilities=("w",)),
                                       PythonAgent("slow", slow, capabilities=("w",))])
    finally:
        release.set()
    assert validate_result(outcome.result) == []
    attempts = {a["agentId"]: (a["status"], a["errorKind"], a["error"]) for a in outcome.result["steps"][0]["attempts"]}
    assert attempts == {"fast": ("ok", None, None),
                        "slow": ("cancelled", "cancelled", "the run ended before this attempt")}
    finished = [e for e in read_events(Path(outcome.run_dir)) if e["event"] == "attempt_finished"]
    assert sorted(e["agent"] for e in finished) == ["fast", "slow"]
