"""The executor against in-process agents (real threads, real journal on disk)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from runner.agents.inprocess import PythonAgent
from runner.api import apply
from runner.context import RunContext
from runner.errors import AgentFailure, FailureKind
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

POOL = parse_pool("kind: pool\nname: test\n", "pool.yaml")


def run(tmp_path: Path, text: str, handles, inputs=None):
    pattern = parse_pattern(text, "pattern.yaml")
    return apply(pattern, POOL, inputs or {}, ctx=RunContext(state_dir=tmp_path), handles=handles)


def voter(agent_id: str, answer: str, confidence: float, log: list | None = None, delay: float = 0.0):
    def fn(request):
        start = time.monotonic()
        if delay:
            time.sleep(delay)
        if log is not None:
            log.append((agent_id, start, time.monotonic()))
        return {"result": answer, "confidence": confidence, "reasoning": f"{agent_id} thinks {answer}"}

    return PythonAgent(agent_id, fn, capabilities=("vote",))


VOTE = """
name: vote
steps:
  - id: vote
    agents: {capabilities: [vote], min: 3}
    task: "Is {{ inputs.x }} fine?"
    aggregation: {type: voting, method: majority}
inputs:
  x: {type: string, default: it}
outputs:
  verdict: "{{ steps.vote.output }}"
"""


def test_three_agents_vote_concurrently_and_the_result_holds_every_answer(tmp_path):
    log: list = []
    handles = [voter("a", "yes", 0.9, log, 0.2), voter("b", "yes", 0.6, log, 0.2), voter("c", "no", 0.8, log, 0.2)]
    outcome = run(tmp_path, VOTE, handles)
    assert outcome.exit_code == 0
    # all three ran at the same time: every one started before any one finished
    assert max(start for _, start, _ in log) < min(end for _, _, end in log)
    step = outcome.result["steps"][0]
    assert step["output"] == "yes"
    assert step["aggregation"]["votes"] == {"yes": 2, "no": 1}
    answers = {a["agentId"]: (a["result"], a["confidence"]) for a in step["attempts"]}
    assert answers == {"a": ("yes", 0.9), "b": ("yes", 0.6), "c": ("no", 0.8)}
    assert outcome.result["outputs"] == {"verdict": "yes"}
    on_disk = json.loads((Path(outcome.run_dir) / "result.json").read_text())
    assert on_disk["steps"][0]["output"] == "yes"


def test_a_crash_is_retried_and_the_run_succeeds(tmp_path):
    calls = []

    def flaky(request):
        calls.append(request.task_id)
        if len(calls) == 1:
            raise AgentFailure(FailureKind.CRASH, "agent died", agent_id="flaky")
        return "done"

    text = """
name: retry
steps:
  - id: work
    agents: {capabilities: [w]}
    task: go
    retry: {limit: 2, backoff: {initial: 10ms}, on: [crash]}
"""
    outcome = run(tmp_path, text, [PythonAgent("flaky", flaky, capabilities=("w",))])
    assert outcome.exit_code == 0
    attempts = outcome.result["steps"][0]["attempts"]
    assert [(a["attempt"], a["status"], a["errorKind"]) for a in attempts] == [(1, "failed", "crash"), (2, "ok", None)]
    events = [json.loads(line)["event"] for line in (Path(outcome.run_dir) / "events.jsonl").read_text().splitlines()]
    assert events.count("attempt_started") == 2


@pytest.mark.parametrize(("kind", "code"), [(FailureKind.TASK, 1), (FailureKind.CONFIG, 2),
                                            (FailureKind.INFRASTRUCTURE, 3), (FailureKind.LOGIN, 3)])
def test_failure_kinds_map_to_exit_codes_and_only_listed_kinds_retry(tmp_path, kind, code):
    calls = []

    def failing(request):
        calls.append(1)
        raise AgentFailure(kind, "nope", agent_id="f")

    text = """
name: fail
steps:
  - id: work
    agents: {capabilities: [w]}
    task: go
    retry: {limit: 2, backoff: {initial: 1ms}, on: [infrastructure]}
"""
    outcome = run(tmp_path, text, [PythonAgent("f", failing, capabilities=("w",))])
    assert outcome.exit_code == code
    assert len(calls) == (3 if kind is FailureKind.INFRASTRUCTURE else 1)
    assert outcome.result["steps"][0]["status"] == "failed"


def test_fail_fast_cancels_dependents_but_lets_running_steps_finish(tmp_path):
    release = threading.Event()
    finished = []

    def slow(request):
        release.wait(5)
        finished.append(request.description)
        return "slow done"

    def bad(request):
        release.set()
        raise AgentFailure(FailureKind.TASK, "bad", agent_id="bad")

    text = """
name: ff
steps:
  - id: slow
    agents: {capabilities: [slow]}
    task: s
  - id: bad
    agents: {capabilities: [bad]}
    task: b
  - id: after
    needs: [bad]
    agents: {capabilities: [slow]}
    task: never
"""
    outcome = run(tmp_path, text, [PythonAgent("s", slow, capabilities=("slow",)),
                                   PythonAgent("b", bad, capabilities=("bad",))])
    assert outcome.exit_code == 1
    status = {s["id"]: s["status"] for s in outcome.result["steps"]}
    assert status == {"slow": "succeeded", "bad": "failed", "after": "cancelled"}
    assert finished == ["s"]


def test_templates_see_earlier_outputs_and_when_skips(tmp_path):
    seen = []

    def echo(request):
        seen.append(request.description)
        return request.description.upper()

    text = """
name: chain
inputs:
  skip: {type: boolean, default: true}
steps:
  - id: first
    agents: {capabilities: [e]}
    task: "hello {{ inputs.skip }}"
  - id: second
    agents: {capabilities: [e]}
    task: "got {{ steps.first.output }}"
  - id: maybe
    agents: {capabilities: [e]}
    task: "x"
    when: "not inputs.skip"
outputs:
  final: "{{ steps.second.output }}"
"""
    outcome = run(tmp_path, text, [PythonAgent("e", echo, capabilities=("e",))])
    assert outcome.exit_code == 0
    assert seen == ["hello True", "got HELLO TRUE"]
    assert {s["id"]: s["status"] for s in outcome.result["steps"]}["maybe"] == "skipped"
    assert outcome.result["outputs"]["final"] == "GOT HELLO TRUE"


def test_for_each_fans_out_over_items(tmp_path):
    text = """
name: fan
inputs:
  files: {type: array, default: [a.py, b.py, c.py]}
steps:
  - id: each
    agents: {capabilities: [e]}
    task: "check {{ item }} ({{ index }})"
    forEach: inputs.files
"""
    outcome = run(tmp_path, text, [PythonAgent("e", lambda r: r.description, capabilities=("e",))])
    assert outcome.exit_code == 0
    assert outcome.result["steps"][0]["output"] == ["check a.py (0)", "check b.py (1)", "check c.py (2)"]


def test_a_units_end_costs_the_same_whatever_the_number_running(tmp_path, monkeypatch):
    """A forEach's loop learns of each unit's end from one queue: ``concurrent.futures.wait``
    over every running unit installed a waiter on each of them per end (2 x concurrency of
    them), so an item cost more the more ran beside it. It is left for a race's losers."""
    import runner.execute.fanout as fanout

    sizes: list[int] = []
    real = fanout.wait
    monkeypatch.setattr(fanout, "wait", lambda fs, **kw: sizes.append(len(fs)) or real(fs, **kw))
    text = """
name: fan
concurrency: 16
inputs:
  n: {type: integer, default: 200}
steps:
  - id: each
    agents: {capabilities: [e]}
    task: "{{ item }}"
    forEach: "{{ range(inputs.n) | list }}"
"""
    outcome = run(tmp_path, text, [PythonAgent("e", lambda r: r.description, capabilities=("e",))])
    assert outcome.exit_code == 0, outcome.result["error"]
    assert outcome.result["steps"][0]["output"] == [str(i) for i in range(200)]
    assert sizes == []


def test_race_takes_the_first_answer(tmp_path):
    text = """
name: race
steps:
  - id: r
    agents: {capabilities: [r], min: 2}
    task: go
    strategy: race
    aggregation: first
"""
    fast = PythonAgent("fast", lambda r: "fast", capabilities=("r",))
    slow = PythonAgent("slow", lambda r: time.sleep(0.5) or "slow", capabilities=("r",))
    outcome = run(tmp_path, text, [slow, fast])
    assert outcome.result["steps"][0]["output"] == "fast"


def test_validation_fallback_and_min_confidence(tmp_path):
    text = """
name: val
steps:
  - id: low
    agents: {capabilities: [v]}
    task: go
    validation: {minConfidence: 0.9, onFailure: fallback, fallback: unsure}
  - id: strict
    agents: {capabilities: [v]}
    task: go
    validation: {minConfidence: 0.9, onFailure: fail}
"""
    outcome = run(tmp_path, text, [PythonAgent("v", lambda r: {"result": "x", "confidence": 0.5}, capabilities=("v",))])
    steps = {s["id"]: s for s in outcome.result["steps"]}
    assert steps["low"]["status"] == "succeeded" and steps["low"]["output"] == "unsure"
    assert steps["strict"]["status"] == "failed" and steps["strict"]["error"]["kind"] == "validation"
    assert outcome.exit_code == 1


def test_run_timeout_stops_running_tasks(tmp_path):
    agent = PythonAgent("hang", lambda r: agent.stopped.wait(30) and "stopped", capabilities=("h",))
    text = """
name: slow
timeout: 300ms
steps:
  - id: hang
    agents: {capabilities: [h]}
    task: go
"""
    outcome = run(tmp_path, text, [agent])
    assert outcome.exit_code == 1
    assert outcome.result["error"]["kind"] == "timeout"


def test_retry_elsewhere_when_an_agent_is_unhealthy(tmp_path):
    broken = PythonAgent("broken", lambda r: None, capabilities=("w",))

    def die(request):
        broken.stop()  # it is now unhealthy: the retry must go to another agent
        raise AgentFailure(FailureKind.INFRASTRUCTURE, "connection reset", agent_id="broken")

    broken.fn = die
    spare = PythonAgent("spare", lambda r: "from spare", capabilities=("w",))
    text = """
name: elsewhere
steps:
  - id: w
    agents: {capabilities: [w], prefer: [broken]}
    task: go
    retry: {limit: 1, backoff: {initial: 1ms}}
"""
    outcome = run(tmp_path, text, [broken, spare])
    assert outcome.exit_code == 0
    attempts = outcome.result["steps"][0]["attempts"]
    assert [a["agentId"] for a in attempts] == ["broken", "spare"]


def test_sequential_tasks_see_the_previous_answers(tmp_path):
    seen = []

    def echo(agent_id):
        def fn(request):
            seen.append(request.description)
            return f"{agent_id}+"
        return PythonAgent(agent_id, fn, capabilities=("w",))

    text = """
name: chain
steps:
  - id: draft
    strategy: sequential
    agents: {capabilities: [w], min: 2}
    task: "so far: {% for p in previous %}{{ p.agent }}={{ p.result }} ({{ p.reasoning }});{% endfor %}"
"""
    outcome = run(tmp_path, text, [echo("a"), echo("b")])
    assert outcome.exit_code == 0, outcome.result["error"]
    assert seen == ["so far: ", "so far: a=a+ ();"]


def test_for_each_over_an_input_named_items(tmp_path):
    text = """
name: each
inputs:
  items: {type: array, default: [a, b]}
steps:
  - id: each
    forEach: inputs.items
    task: "{{ item }}"
"""
    outcome = run(tmp_path, text, [PythonAgent("p", lambda r: r.description.upper())])
    assert outcome.exit_code == 0, outcome.result["error"]
    assert outcome.result["steps"][0]["output"] == ["A", "B"]


def test_for_each_beyond_max_items_fails_as_config_with_the_cap(tmp_path):
    text = """
name: each
inputs:
  xs: {type: array}
steps:
  - id: each
    forEach: inputs.xs
    maxItems: 3
    task: "{{ item }}"
"""
    outcome = run(tmp_path, text, [PythonAgent("p", lambda r: "ok")], {"xs": [1, 2, 3, 4]})
    assert outcome.exit_code == 2
    assert outcome.result["error"]["message"] == (
        "step `each` failed: forEach of step `each` gave 4 items, more than its maxItems (3): "
        "raise `maxItems` (at most 100000) or split the work")
    assert outcome.result["steps"][0]["attempts"] == []


class _BuggyAgent(PythonAgent):
    """An adapter with a bug: its execute raises something that is not an AgentFailure."""

    def execute(self, request, on_output=None):
        raise ValueError("filedescriptor out of range in select()")


def test_an_adapter_bug_fails_the_attempt_as_infrastructure_and_leaves_nothing_running(tmp_path):
    text = """
name: buggy
steps:
  - id: work
    agents: {capabilities: [w]}
    task: go
    retry: {limit: 1, backoff: {initial: 1ms}}
"""
    outcome = run(tmp_path, text, [_BuggyAgent("b", lambda r: None, capabilities=("w",))])
    step = outcome.result["steps"][0]
    assert step["status"] == "failed"
    assert [(a["status"], a["errorKind"]) for a in step["attempts"]] == [("failed", "infrastructure")] * 2
    assert "internal error: ValueError: filedescriptor out of range" in step["attempts"][0]["error"]
    assert outcome.result["error"]["kind"] != "internal"
