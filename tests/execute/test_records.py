"""StepRecord's view for templates (``steps.<id>``): what it holds, fresh lists on every read,
and a finished step's entries built once (a forEach whose task reads a fan-out step read it once
per item, each read a walk of all its attempts: quadratic in the items)."""

from __future__ import annotations

from runner.execute.records import AttemptRecord, StepRecord


def fan_out(n: int, status: str = "succeeded") -> StepRecord:
    rec = StepRecord(id="a", status=status, output=[f"r{i}" for i in range(n)])
    for i in range(n):
        rec.add_attempt(AttemptRecord(attempt=1, agent_id=f"w{i % 3}", item=i, status="ok", result=f"r{i}",
                                      confidence=0.5, change={"files": [f"f{i}"]}, diff=f"diff {i}"))
    rec.add_attempt(AttemptRecord(attempt=1, agent_id="w9", item=n, status="failed"))
    return rec


def test_the_view_holds_ok_results_changes_and_the_chosen_change_with_its_diff():
    rec = fan_out(3)
    rec.change = rec.attempts[1].change
    view = rec.template_view()
    assert view["output"] == ["r0", "r1", "r2"] and view["status"] == "succeeded"
    assert [r["result"] for r in view["results"]] == ["r0", "r1", "r2"]
    assert [c["diff"] for c in view["changes"]] == ["diff 0", "diff 1", "diff 2"]
    assert view["change"] == {"files": ["f1"], "diff": "diff 1"}


def test_a_finished_steps_view_is_built_once_and_every_read_gets_its_own_lists(monkeypatch):
    rec, walks = fan_out(1000), []
    changes = StepRecord.changes
    monkeypatch.setattr(StepRecord, "changes", lambda self: walks.append(1) or changes(self))
    first, second = rec.template_view(), rec.template_view()
    assert len(walks) == 1
    assert first == second and first["results"] is not second["results"] and first is not second
    first["results"].append("a template's own")
    assert len(rec.template_view()["results"]) == 1000


def test_a_running_steps_view_follows_its_attempts():
    rec = fan_out(2, status="running")
    assert len(rec.template_view()["results"]) == 2
    rec.attempts[-1].status = "ok"  # the running attempt finished (same count of attempts)
    assert len(rec.template_view()["results"]) == 3
    rec.status = "succeeded"
    rec.add_attempt(AttemptRecord(attempt=2, agent_id="w9", item=2, status="ok", result="late"))
    assert len(rec.template_view()["results"]) == 4  # a new attempt is a new view
