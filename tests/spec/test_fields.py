"""The field tables the loader checks templates against are what a run really gives."""

from runner.execute.records import AttemptRecord, StepRecord
from runner.spec.fields import ANSWER_FIELDS, STEP_FIELDS


def test_a_step_view_has_exactly_the_checked_fields():
    rec = StepRecord(id="s")
    rec.add_attempt(AttemptRecord(attempt=1, agent_id="a", item=None, status="ok", reasoning="why"))
    view = rec.template_view()
    assert sorted(view) == sorted(STEP_FIELDS)
    assert sorted(view["results"][0]) == sorted(ANSWER_FIELDS)
    assert view["results"][0]["reasoning"] == "why"
