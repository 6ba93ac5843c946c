import json

import pytest

from runner.errors import SpecError
from runner.spec import parse_pattern
from runner.spec.inputs import coerce, resolve_inputs

PATTERN = parse_pattern("""
name: typed
inputs:
  repo: {type: string, required: true, pattern: "^/"}
  n: {type: integer, default: 2, min: 1, max: 5}
  ratio: {type: number}
  strict: {type: boolean, default: false}
  files: {type: array, max: 2}
  opts: {type: object}
  level: {type: string, enum: [low, high], default: low}
  name: {type: string, min: 2}
steps:
  - id: a
    task: "{{ inputs.repo }}"
""", "typed.yaml")


@pytest.mark.parametrize(("text", "type_", "value"), [
    ("3", "integer", 3), ("2.5", "number", 2.5), ("7", "number", 7), ("yes", "boolean", True),
    ("0", "boolean", False), ("False", "boolean", False), ('["a"]', "array", ["a"]),
    ('{"k": 1}', "object", {"k": 1}), (" x ", "string", " x "),
])
def test_coerce(text, type_, value):
    assert coerce(text, type_) == value


def test_values_defaults_and_nones():
    got = resolve_inputs(PATTERN, {"repo": "/src", "n": "4", "strict": "yes", "files": '["a.py"]'})
    assert got == {"repo": "/src", "n": 4, "ratio": None, "strict": True, "files": ["a.py"], "opts": None,
                   "level": "low", "name": None}


def test_input_files_keep_types_and_command_line_wins(tmp_path):
    f = tmp_path / "in.yaml"
    f.write_text("repo: /from-file\nn: 3\nopts: {deep: [1, 2]}\n")
    j = tmp_path / "in.json"
    j.write_text(json.dumps({"ratio": 0.5}))
    got = resolve_inputs(PATTERN, {"repo": "/cli"}, [f, j])
    assert (got["repo"], got["n"], got["opts"], got["ratio"]) == ("/cli", 3, {"deep": [1, 2]}, 0.5)


def test_every_problem_at_once(tmp_path):
    f = tmp_path / "in.yaml"
    f.write_text("n: 9\nrepos: x\nfiles: [a, b, c]\n")
    with pytest.raises(SpecError) as exc:
        resolve_inputs(PATTERN, {"ratio": "lots", "strict": "maybe", "level": "mid", "name": "x", "nmae": "y"},
                       [f])
    assert exc.value.render().splitlines() == [
        f"{f}:2:1: $.repos: unknown input `repos` (did you mean `repo`?)",
        '--input: ratio: expected a number, got "lots"',
        '--input: strict: expected a boolean (true/false/yes/no/1/0), got "maybe"',
        "--input: nmae: unknown input `nmae` (did you mean `name`?)",
        "typed.yaml:4:3: $.inputs.repo: missing required input `repo` (give it with --input repo=VALUE)",
        f"{f}:1:4: $.n: must be at most 5, got integer 9",
        f"{f}:3:8: $.files: must be at most 2 items, got 3",
        '--input: level: expected one of: "low", "high", got string "mid"',
        "--input: name: must be at least 2 characters, got 1",
        "9 errors found",
    ]


def test_pattern_and_bad_input_file(tmp_path):
    bad = tmp_path / "list.yaml"
    bad.write_text("- 1\n")
    with pytest.raises(SpecError) as exc:
        resolve_inputs(PATTERN, {"repo": "relative"}, [bad, tmp_path / "missing.yaml"])
    assert exc.value.render().splitlines() == [
        f"{bad}:1:1: $: an input file must be a mapping of input names to values",
        f"{tmp_path / 'missing.yaml'}: $: cannot read input file: No such file or directory",
        '--input: repo: must match the pattern ^/, got string "relative"',
        "3 errors found",
    ]


def test_parse_assignments():
    from runner.errors import UsageError
    from runner.spec.inputs import parse_assignments

    assert parse_assignments(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(UsageError) as exc:
        parse_assignments(["novalue"])
    assert str(exc.value) == "--input expects NAME=VALUE, got 'novalue'"


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "Infinity", "1e999"])
def test_a_number_that_is_not_finite_is_refused(text):
    with pytest.raises(ValueError, match="expected a number"):
        coerce(text, "number")


def test_an_input_file_with_nan_is_refused(tmp_path):
    f = tmp_path / "in.json"
    f.write_text('{"repo": "/r", "ratio": NaN}')
    with pytest.raises(SpecError, match="ratio"):
        resolve_inputs(PATTERN, {}, [f])
