from pathlib import Path

from runner.spec import load_pattern, parse_pattern
from runner.spec.models import DEFAULT_RETRY_ON

DATA = Path(__file__).parent / "data"


def test_valid_example_builds_the_model_with_defaults():
    p = load_pattern(DATA / "valid" / "quality-gate.yaml")
    assert (p.name, p.version, p.concurrency, p.timeout, p.fail_fast) == ("quality-gate", "1.0.0", 8, 600.0, True)
    assert [i.name for i in p.inputs] == ["repo", "strict", "reviewers"]
    repo, strict, reviewers = p.inputs
    assert repo.required and not repo.has_default
    assert strict.has_default and strict.default is False and strict.type == "boolean"
    assert (reviewers.min, reviewers.max, reviewers.default) == (1, 5, 3)
    lint, test, review = p.steps
    assert lint.timeout == 60.0 and lint.line == 22
    assert lint.agents.capabilities == ("python-lint",) and (lint.agents.min, lint.agents.max) == (1, 1)
    assert lint.strategy == "parallel" and lint.aggregation.type == "first"
    assert lint.retry.limit == 0 and lint.retry.on == DEFAULT_RETRY_ON
    assert test.strategy == "race" and test.aggregation.type == "first" and test.agents.max == 2
    assert test.retry.limit == 2 and test.retry.on == ("crash", "timeout")
    assert (test.retry.backoff.initial, test.retry.backoff.factor, test.retry.backoff.max) == (0.5, 2.0, 30.0)
    assert review.needs == ("lint",) and review.when == "inputs.strict"
    assert review.aggregation.type == "voting" and review.aggregation.method == "majority"
    assert review.agents.min_confidence == 0.5
    assert (review.validation.min_confidence, review.validation.on_failure, review.validation.fallback) == (
        0.6, "fallback", "no")
    assert p.outputs == {"verdict": "{{ steps.review.output }}"}
    assert p.marks["$.steps[2].task"] == (39, 5)
    assert p.source.endswith("quality-gate.yaml")


def test_minimal_pattern_defaults():
    p = parse_pattern("name: tiny\nsteps:\n  - id: only\n    task: hi\n", "tiny.yaml")
    assert (p.version, p.description, p.inputs, p.outputs, p.timeout) == ("0.1.0", "", (), {}, None)
    s = p.steps[0]
    assert s.validation.on_failure == "fail" and s.when is None and s.for_each is None and s.needs == ()


def test_the_four_problems_of_the_broken_example_at_once(problems):
    text = (DATA / "invalid" / "broken.yaml").read_text()
    assert problems(text) == [
        "f.yaml:5:5: $.steps[0].neds: unknown key `neds` (did you mean `needs`?)",
        "f.yaml:6:5: $.steps[1]: cycle: test -> package -> test",
        'f.yaml:8:20: $.steps[1].retry.limit: expected an integer, got string "three"',
        "f.yaml:12:19: $.steps[2].needs[1]: unknown step `deploy` (expected one of: `build`, `package`, `test`)",
    ]


def test_schema_messages(problems):
    assert problems("""
        name: Bad
        steps:
          - id: a
            task: hi
            strategy: paralel
            aggregation: {type: consensus, threshold: 2}
            validation: {onFailure: fallback}
            agents: {capabilities: python}
            timeout: forever
          - task: no id
          - 3
        """) == [
        'f.yaml:1:7: $.name: expected lowercase letters, digits, `.`, `_` and `-`, starting with a letter '
        'or digit, got string "Bad"',
        'f.yaml:5:15: $.steps[0].strategy: expected one of: parallel, sequential, race, got string "paralel" '
        "(did you mean `parallel`?)",
        "f.yaml:6:47: $.steps[0].aggregation.threshold: must be at most 1, got integer 2",
        "f.yaml:7:5: $.steps[0].validation: missing required key `fallback`",
        'f.yaml:8:28: $.steps[0].agents.capabilities: expected a list, got string "python"',
        "f.yaml:9:14: $.steps[0].timeout: expected a duration such as 500ms, 30s, 5m, 1h or a number of "
        'seconds, got string "forever"',
        "f.yaml:10:5: $.steps[1]: missing required key `id`",
        "f.yaml:11:5: $.steps[2]: expected a mapping, got integer 3",
    ]


def test_missing_required_top_level_keys_point_at_the_document(problems):
    assert problems("description: nothing else\n") == [
        "f.yaml:1:1: $: missing required key `name`",
        "f.yaml:1:1: $: missing required key `steps`",
    ]


def test_semantic_messages(problems):
    assert problems("""
        name: sem
        inputs:
          n: {type: integer, default: "x"}
          m: {type: string, pattern: "([", min: 5, default: abc}
          1x: {type: string}
        steps:
          - id: a
            task: "{{ inputs.nn }} {{ steps['bb'].output }}"
            agents: {min: 3, max: 2}
          - id: b
            task: "{% if %}"
            when: "inputs.n >"
          - id: b
            task: "{{ steps.b.output }}"
        outputs:
          x: "{{ steps.nope.output }} {{ inputs['zz'] }}"
        """) == [
        'f.yaml:3:31: $.inputs.n.default: default does not fit the input: expected an integer, got string "x"',
        "f.yaml:4:30: $.inputs.m.pattern: invalid regular expression: unterminated character set at position 1",
        "f.yaml:4:53: $.inputs.m.default: default does not fit the input: must be at least 5 characters, got 3",
        "f.yaml:5:3: $.inputs[\"1x\"]: invalid name `1x`: use letters, digits and `_`, not starting with a digit",
        "f.yaml:8:11: $.steps[0].task: unknown input `nn` (did you mean `n`?)",
        "f.yaml:8:11: $.steps[0].task: unknown step `bb` (did you mean `b`?)",
        "f.yaml:9:27: $.steps[0].agents.max: must be at least `min` (3), got 2",
        "f.yaml:11:11: $.steps[1].task: template syntax error: Expected an expression, got 'end of statement block'",
        "f.yaml:12:11: $.steps[1].when: expression syntax error: unexpected 'end of template'",
        "f.yaml:13:9: $.steps[2].id: duplicate step id `b` (first at line 10)",
        "f.yaml:16:6: $.outputs.x: unknown input `zz` (expected one of: `1x`, `m`, `n`)",
        "f.yaml:16:6: $.outputs.x: unknown step `nope` (expected one of: `a`, `b`)",
    ]


def test_cycles_through_templates_and_self_needs(problems):
    assert problems("""
        name: loops
        steps:
          - id: first
            task: "{{ steps.second.output }}"
          - id: second
            task: go
            needs: [first]
          - id: selfish
            task: me
            needs: [selfish]
        """) == [
        "f.yaml:3:5: $.steps[0]: cycle: first -> second -> first",
        "f.yaml:8:5: $.steps[2]: cycle: selfish -> selfish",
    ]


def test_unknown_input_when_none_declared(problems):
    assert problems("name: x\nsteps:\n  - {id: a, task: '{{ inputs.q }}'}\n") == [
        "f.yaml:3:19: $.steps[0].task: unknown input `q` (the pattern declares no inputs)",
    ]


def test_for_each_and_data(problems):
    p = parse_pattern("""
name: fan
inputs: {files: {type: array, default: [a, b]}}
steps:
  - id: each
    forEach: "{{ inputs.files }}"
    task: "check {{ item }} ({{ index }})"
    data: {k: [1, 2]}
    when: true
""")
    assert p.steps[0].for_each == "{{ inputs.files }}" and p.steps[0].data == {"k": [1, 2]}
    assert p.steps[0].when == "true"


def test_free_variables(problems):
    assert problems("""
        name: vars
        steps:
          - id: each
            forEach: "[1, 2]"
            task: "{{ item }} {{ index }} {% for x in range(2) %}{{ x }}{% endfor %} {{ inptus.a }}"
          - id: plain
            task: "{{ item }}"
            when: "index > 0"
        outputs:
          o: "{{ item }}"
        """) == [
        "f.yaml:5:11: $.steps[0].task: unknown variable `inptus` (did you mean `inputs`?)",
        "f.yaml:7:11: $.steps[1].task: `item` is only defined in the task of a step with `forEach`",
        "f.yaml:8:11: $.steps[1].when: `index` is only defined in the task of a step with `forEach`",
        "f.yaml:10:6: $.outputs.o: unknown variable `item` (expected one of: `inputs`, `steps`)",
    ]


def test_previous_exists_only_in_the_task_of_a_sequential_step(problems):
    assert problems("""
        name: chain
        steps:
          - id: draft
            strategy: sequential
            agents: {min: 2}
            task: "improve: {% for p in previous %}{{ p.result }}{% endfor %}"
          - id: plain
            task: "{{ previous }}"
        """) == [
        "f.yaml:8:11: $.steps[1].task: `previous` is only defined in the task of a step with `strategy: sequential`",
    ]


def test_concurrency_and_max_items_are_bounded(problems):
    assert problems("""
        name: big
        concurrency: 100000
        steps:
          - id: each
            forEach: "[1]"
            maxItems: 1000000
            task: go
        """) == [
        "f.yaml:2:14: $.concurrency: must be at most 4096, got integer 100000",
        "f.yaml:6:15: $.steps[0].maxItems: must be at most 100000, got integer 1000000",
    ]


def test_numbers_that_size_the_run_are_bounded(problems):
    # each of these validated before and then crashed (or would exhaust the machine) at apply time
    assert problems("""
        name: big
        timeout: 10000000h
        concurrency: 5000
        steps:
          - id: a
            task: x
            timeout: 1.0e+300
            inactivity: .inf
            retry: {limit: 1000000000, backoff: {factor: 1.0e+300, max: 99999999999}}
            agents: {min: 1001, max: 100000000}
        """) == [
        "f.yaml:2:10: $.timeout: `10000000h` is more than the maximum, 30 days (720h)",
        "f.yaml:3:14: $.concurrency: must be at most 4096, got integer 5000",
        "f.yaml:7:14: $.steps[0].timeout: `1e+300` is more than the maximum, 30 days (720h)",
        "f.yaml:8:17: $.steps[0].inactivity: `inf` is more than the maximum, 30 days (720h)",
        "f.yaml:9:20: $.steps[0].retry.limit: must be at most 100, got integer 1000000000",
        "f.yaml:9:50: $.steps[0].retry.backoff.factor: must be at most 100, got number 1e+300",
        "f.yaml:9:65: $.steps[0].retry.backoff.max: `99999999999` is more than the maximum, 30 days (720h)",
        "f.yaml:10:19: $.steps[0].agents.min: must be at most 1000, got integer 1001",
        "f.yaml:10:30: $.steps[0].agents.max: must be at most 1000, got integer 100000000",
    ]
    assert problems("name: n\nsteps: [{id: a, task: x, timeout: .nan}]\n") == [
        "f.yaml:2:35: $.steps[0].timeout: `.nan` (not a number) is not accepted"]


def test_runs_on_failure_needs_a_step_to_react_to(problems):
    assert problems("""
        name: react
        steps:
          - id: a
            task: go
          - id: b
            runs: on-failure
            task: go
          - id: c
            runs: always
            task: "{{ steps.a.status }}"
        """) == [
        "f.yaml:6:11: $.steps[1].runs: `runs: on-failure` reacts to the steps this step needs, and it needs none "
        "(add `needs`)",
    ]


def test_template_fields_are_checked_against_what_a_step_result_has(problems):
    assert problems("""
        name: fields
        steps:
          - id: vote
            agents: {min: 2}
            task: go
          - id: report
            task: "{{ steps.vote.outptu }} {% for r in steps.vote.results %}{{ r.reasoning }} {{ r.why }}{% endfor %}"
          - id: chain
            strategy: sequential
            agents: {min: 2}
            when: steps.vote.state == "failed"
            task: "{{ previous[-1].item }} {{ steps.vote.results[0].reasoning }} {{ steps.vote.output.free }}"
        """) == [
        "f.yaml:7:11: $.steps[1].task: `steps.vote` has no field `outptu` (did you mean `output`?)",
        "f.yaml:7:11: $.steps[1].task: `steps.vote.results[]` has no field `why` "
        "(expected one of: `agent`, `confidence`, `item`, `reasoning`, `result`)",
        "f.yaml:11:11: $.steps[2].when: `steps.vote` has no field `state` (did you mean `status`?)",
        "f.yaml:12:11: $.steps[2].task: `previous[]` has no field `item` "
        "(expected one of: `agent`, `confidence`, `reasoning`, `result`)",
    ]
