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
        "f.yaml:2:6: $.key: unsupported YAML: could not determine a constructor for the tag '!env'\n1 error found"
    )


LAUGHS = "name: x\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))


def _one(text: str) -> str:
    with pytest.raises(SpecError) as exc:
        load_yaml(text, "f.yaml")
    assert len(exc.value.diagnostics) == 1, exc.value.render()
    return exc.value.diagnostics[0].render()


def test_an_alias_bomb_is_refused_at_the_alias_that_overflows():
    # 9**9 (387 million) values if expanded; refused after MAX_ALIASED, pointing at line `e:`'s first alias
    assert _one(LAUGHS) == (
        "f.yaml:6:8: $.e[0]: aliases expand to more than 10000 values in all (a YAML alias bomb?)")


def test_aliases_within_the_budget_are_expanded_and_marked_where_written():
    doc = load_yaml("a: &a [1, 2]\nb: [*a, *a]\nc:\n  - *a\n", "f.yaml")
    assert doc.data == {"a": [1, 2], "b": [[1, 2], [1, 2]], "c": [[1, 2]]}
    assert (doc.marks["$.b[0]"], doc.marks["$.b[1]"], doc.marks["$.c[0]"]) == ((2, 5), (2, 9), (4, 5))


def test_a_recursive_alias_is_an_error():
    assert _one("name: x\na: &r [*r]\n") == "f.yaml:2:8: $.a[0]: recursive alias: the anchored value contains this alias"
    assert _one("a: &m {b: *m}\n").startswith("f.yaml:1:11: $.a.b: recursive alias")


def test_deep_nesting_is_an_error_not_a_recursion_error():
    text = "z: " + "[" * 500 + "]" * 500 + "\n"
    assert _one(text).endswith(": nested deeper than 64 levels")
    assert _one("a:\n" + "".join("  " * i + "- \n" for i in range(1, 200)) + "  " * 200 + "- 1\n").endswith(
        "nested deeper than 64 levels")


@pytest.mark.parametrize(("text", "message"), [
    ("v: !!int abc\n", "f.yaml:1:4: $.v: `abc` is not a valid `!!int` value"),
    ("v: !!timestamp 2001-13-45\n", "f.yaml:1:4: $.v: `2001-13-45` is not a valid `!!timestamp` value"),
    ("v: !!float x\n", "f.yaml:1:4: $.v: `x` is not a valid `!!float` value"),
    ("v: !!bool maybe\n", "f.yaml:1:4: $.v: `maybe` is not a valid `!!bool` value"),
    ("v: !!timestamp soon\n", "f.yaml:1:4: $.v: `soon` is not a valid `!!timestamp` value"),
    ("v: !!binary aGk=\n", "f.yaml:1:4: $.v: values tagged `!!binary` are not supported"),
    ("v: .nan\n", "f.yaml:1:4: $.v: `.nan` (not a number) is not accepted"),
    ("v: " + "9" * 5000 + "\n", "f.yaml:1:4: $.v: integer too large (5000 characters; at most 4300 digits)"),
    ("v: x\x00\n", "f.yaml:1:5: $: YAML error: control characters are not allowed (character #x0000)"),
    ("v: é\x01\n", "f.yaml:1:5: $: YAML error: control characters are not allowed (character #x0001)"),
    ("v: [\n", "f.yaml:2:1: $: YAML syntax error: did not find expected node content"),
])
def test_bad_scalars_and_characters_are_one_line_errors_with_a_place(text, message):
    assert _one(text) == message


def test_dates_stay_the_text_written():
    assert load_yaml("v: 2024-01-31\nw: !!timestamp 2001-12-14t21:59:43.10-05:00\n", "f.yaml").data == {
        "v": "2024-01-31", "w": "2001-12-14t21:59:43.10-05:00"}
