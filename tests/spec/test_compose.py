"""Composition (`uses:`): the loader inlines called patterns and checks each call against the
callee, with the caller's file:line:col and the callee's file in every message."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import SpecError
from runner.spec import load_pattern
from runner.spec.models import RetryPolicy

REVIEW = """name: review
version: "2.0.0"
inputs:
  code: {type: string, required: true}
  rounds: {type: integer, default: 2, min: 1, max: 5}
  tone: {type: string, enum: [kind, blunt], default: kind}
steps:
  - id: look
    agents: {capabilities: [review], prefer: [alice]}
    task: "Review {{ inputs.code }}"
  - id: sum
    timeout: 10s
    task: "Sum {{ steps.look.output }}"
outputs:
  verdict: "{{ steps.sum.output }}"
"""


def write(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    return tmp_path / f"{next(iter(files))}.yaml"


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def errors(path: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_pattern(path)
    return [d.render() for d in info.value.diagnostics]


def test_a_call_is_followed_by_the_callee_steps_with_prefixed_ids(tmp_path):
    top = write(tmp_path, top="""name: top
steps:
  - id: write
    task: code
  - id: rev
    uses: ./review.yaml
    with: {code: "{{ steps.write.output }}", rounds: 3}
    agents: {capabilities: [fast], prefer: [bob]}
    timeout: 30s
    retry: {limit: 2}
""", review=REVIEW)
    pattern = load_pattern(top)
    assert [s.id for s in pattern.steps] == ["write", "rev", "rev/look", "rev/sum"]
    assert [s.scope for s in pattern.steps] == ["", "", "rev/", "rev/"]
    rev, look, summed = pattern.steps[1:]
    assert rev.uses == "./review.yaml" and rev.task == "" and dict(rev.with_inputs)["rounds"] == 3
    assert pattern.calls["rev"].name == "review" and pattern.calls["rev"].source == str(tmp_path / "review.yaml")
    # the call narrows agents, and gives its timeout/retry to steps that set none
    assert look.agents.capabilities == ("review", "fast") and look.agents.prefer == ("bob", "alice")
    assert look.timeout == 30.0 and summed.timeout == 10.0
    assert look.retry.limit == 2 and summed.retry.limit == 2
    assert look.task == "Review {{ inputs.code }}"  # templates are untouched: they read their scope


def test_calls_nest_to_any_depth_and_a_builtin_can_be_called(tmp_path):
    top = write(tmp_path, top="""name: top
steps:
  - id: outer
    uses: ./mid.yaml
""", mid="""name: mid
steps:
  - id: inner
    uses: ./sub/review.yaml
    with: {code: x}
  - id: vote
    uses: builtin:vote
    with: {question: "{{ steps.inner.outputs.verdict }}"}
outputs:
  v: "{{ steps.vote.output }}"
""")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "review.yaml").write_text(REVIEW)
    pattern = load_pattern(top)
    assert [s.id for s in pattern.steps] == ["outer", "outer/inner", "outer/inner/look", "outer/inner/sum",
                                             "outer/vote", "outer/vote/vote"]
    assert pattern.step("outer/inner/sum").scope == "outer/inner/"
    assert pattern.step("outer/inner/look").retry == RetryPolicy()


def test_a_pattern_without_uses_has_no_calls(tmp_path):
    pattern = load_pattern(write(tmp_path, review=REVIEW))
    assert pattern.calls == {} and all(s.scope == "" and s.uses is None for s in pattern.steps)


def test_each_call_is_checked_against_the_callee(in_tmp):
    top = write(in_tmp, top="""name: top
steps:
  - id: rev
    uses: ./review.yaml
    with: {cod: x, rounds: 9, tone: rude}
  - id: other
    uses: ./review.yaml
    with: {code: x, rounds: many}
  - id: after
    task: "{{ steps.rev.outputs.verdikt }} {{ steps.plain.outputs.x }} {{ steps.rev.outputs.verdict }}"
  - id: plain
    task: hi
outputs:
  o: "{{ steps.other.outputs['nope'] }}"
""", review=REVIEW)
    f = str(top)
    assert errors(top) == [
        f"{f}:4:5: $.steps[0].uses: `./review.yaml` (review.yaml) needs the input `code`: give it under `with`",
        f"{f}:5:12: $.steps[0].with.cod: `./review.yaml` (review.yaml) has no input `cod` (did you mean `code`?)",
        f"{f}:5:20: $.steps[0].with.rounds: input `rounds` of `./review.yaml` (review.yaml): "
        "must be at most 5, got integer 9",
        f"{f}:5:31: $.steps[0].with.tone: input `tone` of `./review.yaml` (review.yaml): "
        'expected one of: "kind", "blunt", got string "rude"',
        f"{f}:8:21: $.steps[1].with.rounds: input `rounds` of `./review.yaml` (review.yaml): "
        'expected an integer, got "many"',
        f"{f}:10:5: $.steps[2].task: `./review.yaml` (review.yaml) has no output `verdikt` (did you mean `verdict`?)",
        f"{f}:10:5: $.steps[2].task: step `plain` calls no pattern: it has no `outputs` "
        "(its answer is `steps.plain.output`)",
        f"{f}:14:3: $.outputs.o: `./review.yaml` (review.yaml) has no output `nope` (expected one of: `verdict`)",
    ]


def test_a_missing_source_a_pool_and_a_cycle_are_errors_at_the_uses(in_tmp):
    top = write(in_tmp, top="""name: top
steps:
  - id: gone
    uses: ./gone.yaml
  - id: pool
    uses: ./pool.yaml
  - id: loop
    uses: ./a.yaml
  - id: nobuiltin
    uses: builtin:nope
""", pool="kind: pool\nname: p\nagents: [{id: x, command: [x]}]\n",
        a="name: a\nsteps:\n  - id: b\n    uses: ./b.yaml\n",
        b="name: b\nsteps:\n  - {id: x, task: x}\n  - id: again\n    uses: ./a.yaml\n")
    assert errors(top) == [
        f"{in_tmp}/top.yaml:4:5: $.steps[0].uses: pattern source `./gone.yaml` not found "
        f"(looked for {in_tmp}/gone.yaml)",
        f"{in_tmp}/top.yaml:6:5: $.steps[1].uses: `./pool.yaml` (pool.yaml) is a pool file, not a pattern",
        f"{in_tmp}/top.yaml:10:5: $.steps[3].uses: unknown built-in pattern `nope`: "
        "expected one of: `best-of-n`, `consensus-review`, `critique-revise`, `implement-test-fix`, `judge`, "
        "`map-reduce`, `route`, `vote`",
        # the file where the chain closes; the calling files' own errors come first
        "b.yaml:5:5: $.steps[1].uses: cycle of `uses`: a.yaml -> b.yaml -> a.yaml",
    ]


def test_a_file_calling_itself_is_a_cycle(in_tmp):
    top = write(in_tmp, top="name: top\nsteps:\n  - id: me\n    uses: ./top.yaml\n")
    assert errors(top) == [f"{in_tmp}/top.yaml:4:5: $.steps[0].uses: cycle of `uses`: top.yaml -> top.yaml"]


def test_what_a_call_step_may_say(in_tmp):
    top = write(in_tmp, top="""name: top
steps:
  - id: rev
    uses: ./review.yaml
    with: {code: x}
    strategy: race
    agents: {capabilities: [x], min: 2}
  - id: both
    uses: ./review.yaml
    task: x
  - id: neither
    with: {code: x}
  - id: nested
    uses: ./review.yaml
    with: {code: x, tone: ["{{ inputs.x }}"]}
""", review=REVIEW)
    f = str(top)
    assert errors(top) == [
        f"{f}:6:5: $.steps[0].strategy: `strategy` does not apply to a step with `uses` (its steps say it in the "
        "called pattern; a call takes `id`, `description`, `uses`, `with`, `agents`, `timeout`, `retry`, `when`, "
        "`needs`, `runs`)",
        f"{f}:7:33: $.steps[0].agents.min: `agents.min` does not apply to a step with `uses` (a call narrows its "
        "steps' agents with `capabilities` and `prefer`)",
        f"{f}:8:5: $.steps[1]: give only one of: task, uses",
        f"{f}:11:5: $.steps[2]: a step needs `task` (what its agents do) or `uses` (a pattern to call)",
        f"{f}:12:5: $.steps[2].with: `with` gives the inputs of a called pattern: it needs `uses`",
        f"{f}:15:27: $.steps[3].with.tone: a template inside a list or mapping is not rendered: give the whole "
        'value as one expression, e.g. `"{{ [inputs.a, steps.b.output] }}"`',
    ]


def test_pool_capabilities_are_checked_across_the_tree(in_tmp):
    from runner.spec import check_pair
    from runner.spec.pool import parse_pool

    top = write(in_tmp, top="""name: top
steps:
  - id: rev
    uses: ./review.yaml
    with: {code: x}
    agents: {capabilities: [fast]}
""", review=REVIEW)
    pool = parse_pool("kind: pool\nname: p\nagents: [{id: a, command: [x], capabilities: [review]}]\n", "pool.yaml")
    assert [d.render() for d in check_pair(load_pattern(top), pool)] == [
        f"{top}:4:5: $.steps[0].uses: no agent or template of pool `p` has `fast` (step `rev/look` of review.yaml)",
        f"{top}:4:5: $.steps[0].uses: no agent or template of pool `p` has `fast` (step `rev/sum` of review.yaml)",
    ]
