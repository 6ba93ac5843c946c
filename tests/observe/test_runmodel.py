"""The run model folded from journal events, and what the report and the step summary draw from
it: usage and cost, diffs and verify results when the journal has them, nested patterns as
clusters, Mermaid labels that stay labels."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lanes import examples

from runner.observe.html import render_report
from runner.observe.report import mermaid_dag
from runner.observe.runmodel import RunModel, usage_cost

T0 = "2026-01-01T00:00:00.000Z"


def model() -> RunModel:
    m = RunModel("r1")
    m.set_plan({"steps": [{"id": "plan", "needs": []}, {"id": "edit", "needs": ["plan"], "group": "fixer"},
                          {"id": "check", "needs": ["edit"], "group": "fixer"}]})
    for e in [
        {"event": "run_started", "time": T0, "runId": "r1", "pattern": "p", "pool": "q", "inputs": {}},
        {"event": "step_started", "time": T0, "step": "plan", "agents": ["claude"]},
        {"event": "attempt_started", "time": T0, "step": "plan", "agent": "claude", "attempt": 1, "item": None,
         "task": "make a plan"},
        {"event": "attempt_finished", "time": "2026-01-01T00:00:03.000Z", "step": "plan", "agent": "claude",
         "attempt": 1, "item": None, "status": "ok", "result": "a plan", "confidence": 0.8,
         "usage": {"total_cost_usd": 0.0123, "usage": {"input_tokens": 100, "output_tokens": 20}}},
        {"event": "step_finished", "time": "2026-01-01T00:00:03.000Z", "step": "plan", "status": "succeeded",
         "output": "a plan", "confidence": 0.8},
        {"event": "step_started", "time": "2026-01-01T00:00:03.000Z", "step": "edit", "agents": ["codex"]},
        {"event": "attempt_started", "time": "2026-01-01T00:00:03.000Z", "step": "edit", "agent": "codex",
         "attempt": 1, "item": None},
        {"event": "attempt_finished", "time": "2026-01-01T00:00:05.000Z", "step": "edit", "agent": "codex",
         "attempt": 1, "item": None, "status": "ok", "result": "edited", "usage": {"usage": {"input_tokens": 7}},
         "diff": "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-old = 1\n+new = 2\n", "verify": {"tests": "3 passed"}},
        {"event": "step_finished", "time": "2026-01-01T00:00:05.000Z", "step": "edit", "status": "failed",
         "errorKind": "validation", "error": 'confidence is "low" <here>'},
    ]:
        m.apply(e)
    return m


def test_usage_and_cost_add_up_per_attempt_step_agent_and_run():
    assert usage_cost({"total_cost_usd": 0.5, "usage": {"input_tokens": 3, "cache_read_input_tokens": 4}}) == (7, 0.5)
    assert usage_cost({"tokens": "1.2k sent"}) == (0, None)  # aider's text is not a count
    # normalised usage: input (cached included) + output; cache reads are not counted twice
    assert usage_cost({"input_tokens": 100, "cache_read_tokens": 90, "output_tokens": 5, "cost_usd": 0.01}) == \
        (105, 0.01)
    m = model()
    assert m.steps["plan"].cost_usd == 0.0123 and m.steps["plan"].tokens == 120
    assert m.agent_usage() == {"claude": (120, 0.0123), "codex": (7, None)}
    assert m.cost_usd == 0.0123 and m.tokens == 127
    assert [s.status for s in m.steps.values()] == ["succeeded", "failed", "pending"]


def test_the_report_shows_cost_diffs_verify_and_clusters():
    page = render_report(model())
    assert '<td class="num">$0.0123</td>' in page and "tokens 127 · cost $0.0123" in page
    assert '<span class="del">-old = 1</span>' in page and '<span class="add">+new = 2</span>' in page
    assert "&quot;tests&quot;: &quot;3 passed&quot;" in page  # verify, as escaped JSON text
    assert re.search(r'<g class="cluster" data-group="fixer">', page)
    assert "confidence is &quot;low&quot; &lt;here&gt;" in page
    assert page.count('class="node ') == 3


def test_mermaid_labels_cannot_break_out():
    m = model()
    m.step('odd"]; click s0 "x').status = "failed"
    text = mermaid_dag(m)
    assert 's3["odd#quot;]; click s0 #quot;x: failed"]:::failed' in text
    assert "  s0 --> s1" in text and "  s1 --> s2" in text


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                      max_size=3), max_leaves=8)
EVENTS = ["run_started", "run_finished", "step_started", "step_finished", "step_skipped", "step_retried",
          "attempt_started", "attempt_finished", "agent_metrics", "agent_event", "cleanup_problem", "whatever"]
FIELDS = ["step", "agent", "attempt", "item", "status", "time", "result", "confidence", "usage", "aggregation",
          "agents", "error", "errorKind", "durationMs", "task", "diff", "verify", "runId", "inputs", "exitCode"]
event = st.fixed_dictionaries({"event": st.sampled_from(EVENTS)}, optional={
    f: (st.sampled_from(["a", "b"]) if f in ("step", "agent") else
        st.fixed_dictionaries({}, optional={"votes": json_values, "weights": json_values, "agreement": json_values,
                                            "reason": json_values, "items": json_values})
        if f == "aggregation" else json_values) for f in FIELDS})


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event, max_size=12), json_values)
def test_any_journal_gives_a_whole_page(events, plan):
    m = RunModel("r")
    m.set_plan(plan)
    for e in events:
        m.apply(e)
    page = render_report(m)
    assert page.rstrip().endswith("</html>")
    mermaid_dag(m)


def test_a_workspace_change_in_the_result_is_drawn_with_its_patch_and_verify(tmp_path):
    import json

    run_dir = tmp_path / "runs" / "r2"
    (run_dir / "changes" / "fix").mkdir(parents=True)
    patch = run_dir / "changes" / "fix" / "codex-1.patch"
    patch.write_text("diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1 +1 @@\n"
                     "-    return a - b\n+    return a + b\n")
    outside = tmp_path / "elsewhere.patch"
    outside.write_text("+not from this run\n")
    change = {"agent": "codex", "attempt": 1, "item": None, "patch": str(patch), "insertions": 1, "deletions": 1,
              "files": [{"path": "calc.py", "status": "modified", "insertions": 1, "deletions": 1}],
              "verify": {"ok": False, "exitCode": 1, "output": "1 failed <test_add>", "timedOut": False}}
    events = [{"time": T0, "event": "run_started", "runId": "r2", "pattern": "p", "pool": "q", "inputs": {}},
              {"time": T0, "event": "step_started", "step": "fix", "agents": ["codex", "aider"]},
              {"time": T0, "event": "attempt_started", "step": "fix", "agent": "codex", "attempt": 1, "item": None},
              {"time": T0, "event": "attempt_started", "step": "fix", "agent": "aider", "attempt": 1, "item": None},
              {"time": T0, "event": "attempt_finished", "step": "fix", "agent": "codex", "attempt": 1, "item": None,
               "status": "failed", "errorKind": "verify", "error": "verify failed (exit 1)"},
              {"time": T0, "event": "attempt_finished", "step": "fix", "agent": "aider", "attempt": 1, "item": None,
               "status": "ok", "result": "done"},
              {"time": T0, "event": "run_finished", "status": "failed", "exitCode": 1}]
    (run_dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (run_dir / "result.json").write_text(json.dumps({"runId": "r2", "status": "failed", "steps": [
        {"id": "fix", "status": "failed", "landed": None, "attempts": [
            {"agentId": "codex", "attempt": 1, "item": None, "change": change},
            {"agentId": "aider", "attempt": 1, "item": None,
             "change": {**change, "agent": "aider", "patch": str(outside), "verify": None}}]}]}))
    from runner.observe.runmodel import load_model

    page = render_report(load_model(run_dir))
    assert '<span class="del">-    return a - b</span>' in page and '<span class="add">+    return a + b</span>' in page
    assert '<span class="pill failed">verify failed</span> exit code 1' in page
    assert "1 failed &lt;test_add&gt;" in page and "<td>calc.py</td><td>modified</td>" in page
    assert "not from this run" not in page  # a patch path outside the run's journal is not read


def test_a_results_changes_find_their_attempts_in_one_walk():
    """A long forEach with a workspace: each of its result's attempt records finds its journaled
    attempt by key (a walk of the step's attempts per record was quadratic in the items)."""

    class CountingList(list):
        walks = 0

        def __iter__(self):
            CountingList.walks += 1
            return super().__iter__()

        def __reversed__(self):
            CountingList.walks += 1
            return super().__reversed__()

    m = RunModel("r")
    m.apply({"event": "step_started", "time": T0, "step": "s", "agents": ["a"]})
    for i in range(500):
        m.apply({"event": "attempt_started", "time": T0, "step": "s", "agent": "a", "attempt": 1, "item": i})
    m.steps["s"].attempts = CountingList(m.steps["s"].attempts)
    m.finish({"status": "succeeded", "steps": [{"id": "s", "status": "succeeded", "attempts": [
        {"agentId": "a", "attempt": 1, "item": i, "change": {"patch": f"{i}.patch"}} for i in range(500)]}]})
    assert CountingList.walks == 1
    assert [a.extra["change"]["patch"] for a in m.steps["s"].attempts] == [f"{i}.patch" for i in range(500)]
