import pytest

from runner.errors import SpecError
from runner.spec.yamlload import child_path, load_yaml, mark_of

TEXT = """\
name: x
steps:
  - id: a
    retry: {limit: 2, on: [crash]}
  - id: b
    data:
      "odd.key": yes
"""


def test_data_and_marks():
    doc = load_yaml(TEXT, "f.yaml")
    assert doc.data == {"name": "x", "steps": [
        {"id": "a", "retry": {"limit": 2, "on": ["crash"]}},  # `on` stays a string key
        {"id": "b", "data": {"odd.key": True}},
    ]}
    assert doc.marks["$"] == (1, 1)
    assert doc.marks["$.steps"] == (2, 1)
    assert doc.marks["$.steps[0]"] == (3, 5)
    assert doc.marks["$.steps[0].retry.limit"] == (4, 13)
    assert doc.value_marks["$.steps[0].retry.limit"] == (4, 20)
    assert doc.marks["$.steps[0].retry.on[0]"] == (4, 28)
    assert doc.marks['$.steps[1].data["odd.key"]'] == (7, 7)


def test_mark_of_falls_back_to_the_nearest_ancestor():
    doc = load_yaml(TEXT, "f.yaml")
    assert mark_of(doc.marks, "$.steps[0].retry.backoff.initial") == (4, 5)
    assert mark_of(doc.marks, "$.nothing") == (1, 1)


def test_child_path():
    assert child_path("$", "steps") == "$.steps"
    assert child_path("$.steps", 2) == "$.steps[2]"
    assert child_path("$.env", 'a"b') == '$.env["a\\"b"]'


def test_duplicate_keys_are_all_reported():
    with pytest.raises(SpecError) as exc:
        load_yaml("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n", "f.yaml")
    assert exc.value.render() == (
        "f.yaml:4:3: $.b.c: duplicate key `c` (first at line 3)\n"
        "f.yaml:5:1: $.a: duplicate key `a` (first at line 1)\n"
        "2 errors found"
    )


def test_syntax_error_is_a_diagnostic():
    with pytest.raises(SpecError) as exc:
        load_yaml("steps:\n  - id: a\n   task: x\n", "f.yaml")
    assert exc.value.render() == (
        "f.yaml:3:4: $: YAML syntax error: did not find expected '-' indicator\n1 error found"
    )


def test_merge_keys_let_own_keys_win():
    doc = load_yaml("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n", "f.yaml")
    assert doc.data["c"] == {"x": 1, "y": 3}


def test_empty_document():
    assert load_yaml("# nothing\n", "f.yaml").data is None


def test_unknown_tags_are_reported_not_raised():
    with pytest.raises(SpecError) as exc:
        load_yaml("name: x\nkey: !env HOME\n", "f.yaml")
    assert exc.value.render() == (
        "f.yaml:2:6: $: unsupported YAML: could not determine a constructor for the tag '!env'\n1 error found"
    )
