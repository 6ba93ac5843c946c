"""Load-time template checks run on one representative per shape (templates.shape); the quick
shape key of simple templates (no lexing) must never join two templates whose checks differ.
Each template, behind texts of every length, gets exactly the message and references it gets
when checked on its own, Jinja's lexer and parser seeing its whole text."""

from __future__ import annotations

import pytest

from runner.spec import templates
from runner.spec.templates import references, shape, syntax_error

EXPRESSIONS = [
    "{{ inputs.topic }}", "{{ inputs.a + inputs.b }}", "{{ steps.x.output | length }}", "{{ ) }}",
    "{{ (inputs.a }}", "{{ inputs.a | }}", "{{ 1 +* 2 }}", "{{ inputs.a[0] }}", "{{ inputs.a ]] }}",
    "{{ item.name }}\n{{ index }}", "{{\n  inputs.a\n  |nofilter }}", "{{ x.y(1, 2) }}", "{{- inputs.t -}}",
    "{{ 1_000 }}", "{{ inputs.a == 1 }}", "{{ a:b }}", "{{ @ }}", "{{ 'q' }}", "{{ ² }}", "{{ inputs.a ~ \"}}\" }}",
    "{% if x %}y{% endif %}", "{# c #}{{ x }}", "{{ x }", "{ {{ x }}",
]
PREFIXES = ["", "a", "part 12: ", "two\nlines ", "x" * 57 + " "]


def _own(src: str) -> tuple[str | None, object]:
    """The checks on ``src`` itself: its compile error, else its references (read only then)."""
    try:
        templates._template(src)  # noqa: SLF001 - the compile the shape stands in for
    except Exception as exc:  # noqa: BLE001
        return templates._message(exc, "template"), None  # noqa: SLF001
    return None, templates._references(src, False)  # noqa: SLF001


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_a_shared_shape_keeps_each_templates_own_checks(expr):
    for prefix in PREFIXES:
        for suffix in ("", " end", "\nmore"):
            src = prefix + expr + suffix
            shape(src)
    for prefix in reversed(PREFIXES):
        src = prefix + expr
        message = syntax_error(src)
        assert (message, references(src) if message is None else None) == _own(src), src


def test_simple_templates_are_keyed_without_the_lexer():
    assert templates._simple_key("part 1: {{ inputs.topic }}") == ("simple", (1, " inputs.topic "))  # noqa: SLF001
    assert templates._simple_key("a\nb {{ x }}\n{{ y }}") == ("simple", (2, " x "), (3, " y "))  # noqa: SLF001
    for other in ("{{ 'q' }}", "{% if x %}{% endif %}", "{# c #}", "{{ x }", "a\r\n{{ x }}", "{{ ² }}"):
        assert templates._simple_key(other) is None, other  # noqa: SLF001
