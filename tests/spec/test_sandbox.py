"""The template sandbox: no value past MAX_SIZE is built, and a render stops when the run does."""

from __future__ import annotations

import threading
import tracemalloc

import pytest

from runner.errors import SpecError
from runner.spec.sandbox import MAX_SIZE, Stopped
from runner.spec.templates import evaluate, render, syntax_error


def failure(src: str, **context: object) -> str:
    with pytest.raises(SpecError) as exc:
        render(src, context)
    return exc.value.diagnostics[0].message


@pytest.mark.parametrize(("src", "message"), [
    ("{{ ('a' * 10**9)|length }}", "the repeated value would have 1,000,000,000 items or characters"),
    ("{{ [0] * 10**8 }}", "the repeated value would have 100,000,000 items or characters"),
    ("{{ 'x'|center(10**9) }}", "the number 1000000000 is too large here"),
    ("{{ 'x'.ljust(10**9) }}", "the number 1000000000 is too large here"),
    ("{{ '%999999999d' % 1 }}", "a width or precision in the format is more than 10,000,000"),
    ("{{ '{:>999999999}'.format(1) }}", "a width or precision in the format is more than 10,000,000"),
    ("{{ (['a' * 10**6] * 1000)|join }}", "the joined text would have 1,000,000,000 items or characters"),
    ("{{ ('a' * 10**6).replace('a', 'bbbbbbbbbbbbbbbbbbbb') }}", "the replaced text would have 20,000,000"),
    ("{{ 7 ** 1000000 }}", "the number would have more than 100,000 bits"),
    ("{% set ns = namespace(s='ab') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
     "the concatenated text would have 16,777,216 items or characters"),
    ("{% for i in range(11) %}{{ 'a' * 1000000 }}{% endfor %}", "the rendered text is longer than 10,000,000"),
])
def test_values_past_the_limits_are_refused_before_they_are_built(src, message):
    tracemalloc.start()
    try:
        assert syntax_error(src) is None  # compiling (and Jinja's constant folding) builds nothing big
        got = failure(src)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got.startswith("template failed: TooLarge: " + message), got
    assert peak < 4 * MAX_SIZE  # a few values of MAX_SIZE at most, never the refused one


def test_ordinary_templates_are_unchanged():
    src = ("{% for k in xs recursive %}{{ loop.index }}/{{ loop.length }}{{ ',' if not loop.last }}{% endfor %}"
           "|{{ 'a' ~ 1 ~ none }}|{{ 'ab' * 2 }}|{{ [1] + [2] }}|{{ '%03d' % 7 }}|{{ xs|join('-') }}|{{ 2 ** 10 }}")
    assert render(src, {"xs": [1, 2, 3]}) == "1/3,2/3,3/3|a1None|abab|[1, 2]|007|1-2-3|1024"
    assert evaluate("inputs.items|length", {"inputs": {"items": [1, 2]}}) == 2


def test_a_render_stops_when_asked_even_in_a_loop_that_calls_nothing():
    stop = threading.Event()
    endless = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
    stopper = threading.Timer(0.2, stop.set)
    stopper.start()
    with pytest.raises(Stopped):
        render(endless, {}, stop=stop)  # 10**10 iterations: only the stop check ends it
    stop.set()
    with pytest.raises(Stopped):
        evaluate("[1, 2]|map('string')|list", {}, stop=stop)
    assert render("{{ 1 }}", {}) == "1"  # the next render on this thread does not inherit the stop
