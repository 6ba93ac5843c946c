import pytest

from runner.errors import SpecError
from runner.spec import parse_pattern
from runner.spec.templates import Refs, Site, evaluate, references, render, step_site

CTX = {
    "inputs": {"repo": "/src", "n": 3, "files": ["a.py", "b.py"]},
    "steps": {"lint": {"output": "clean", "confidence": 0.9, "results": [], "status": "succeeded"}},
    "item": "a.py",
    "index": 0,
}


def test_render():
    assert render("Check {{ inputs.repo }} ({{ steps.lint.output }}) {{ item }}#{{ index }}", CTX) == (
        "Check /src (clean) a.py#0")
    assert render("<{{ inputs.files | tojson }}>\n", CTX) == '<["a.py", "b.py"]>\n'


def test_evaluate_returns_native_values():
    assert evaluate("inputs.n > 2", CTX) is True
    assert evaluate("{{ inputs.files }}", CTX) == ["a.py", "b.py"]
    assert evaluate("  {{ inputs.n * 2 }} ", CTX) == 6
    assert evaluate("steps.lint.confidence >= 0.5 and inputs['repo'] == '/src'", CTX) is True


def test_references_walk_the_ast():
    src = "{{ inputs.a }} {{ inputs['b'] }} {% for r in steps.s1.results %}{{ steps['s2'].output }}{% endfor %}"
    assert references(src) == Refs(inputs=frozenset({"a", "b"}), steps=frozenset({"s1", "s2"}),
                                   variables=frozenset({"inputs", "steps"}))
    assert references("inputs.x and not steps.y.status and item", expression=True) == Refs(
        inputs=frozenset({"x"}), steps=frozenset({"y"}), variables=frozenset({"inputs", "steps", "item"}))
    assert references("{% set a = 1 %}{{ a }}{{ range(3) | list }}").variables == frozenset()
    assert references("plain text inputs.x") == Refs()
    assert references("{% if %}") == Refs()


def _error(fn, *args, **kwargs) -> str:
    with pytest.raises(SpecError) as exc:
        fn(*args, **kwargs)
    (diagnostic,) = exc.value.diagnostics
    return diagnostic.render()


def test_render_errors_point_at_the_step():
    pattern = parse_pattern("name: x\ninputs: {q: {}}\nsteps:\n  - id: one\n    task: go\n  - id: two\n    task: '{{ inputs.q }}'\n",
                            "x.yaml")
    site = step_site(pattern, "two")
    assert _error(render, "{{ inputs.q }}", CTX, site=site) == (
        "x.yaml:7:5: $.steps[1].task: step `two`: template uses an undefined value: "
        "'dict object' has no attribute 'q'")
    assert _error(evaluate, "1 / 0", CTX, site=step_site(pattern, "one", "when")) == (
        "x.yaml:4:5: $.steps[0].when: step `one`: expression failed: ZeroDivisionError: division by zero")


def test_the_sandbox_blocks_python_internals():
    assert _error(render, "{{ item.__class__.__mro__ }}", CTX, site=Site("f.yaml", "$.steps[0].task", 4, 5)) == (
        "f.yaml:4:5: $.steps[0].task: template failed: SecurityError: access to attribute '__class__' "
        "of 'str' object is unsafe.")


def test_syntax_errors_name_the_template_line():
    assert _error(render, "line one\n{% if %}", CTX) == (
        "<template>: $: template syntax error on line 2: Expected an expression, got 'end of statement block'")


def test_step_dependencies_join_needs_and_template_reads():
    from runner.spec import step_dependencies

    p = parse_pattern("""
name: deps
steps:
  - {id: a, task: x}
  - {id: b, task: x}
  - id: c
    needs: [b]
    task: "{{ steps.a.output }} {{ steps['b'].output }}"
    when: "steps.a.status == 'succeeded'"
    forEach: "{{ steps.b.results }}"
""")
    assert [step_dependencies(s) for s in p.steps] == [(), (), ("b", "a")]


@pytest.mark.parametrize("name", ["items", "keys", "values", "get", "pop", "copy", "update", "clear"])
def test_an_input_named_like_a_dict_method_is_the_input(name):
    ctx = {"inputs": {name: ["x", "y"]}, "steps": {"s": {name: 1, "output": "o"}}}
    assert evaluate(f"inputs.{name}", ctx) == ["x", "y"]
    assert render(f"{{{{ inputs.{name} | join(',') }}}} {{{{ steps.s.{name} }}}}", ctx) == "x,y 1"
    # a mapping without that key still has its methods
    assert render("{{ inputs.keys() | list }}", {"inputs": {"a": 1}}) == "['a']"


def test_templates_differing_only_in_text_are_checked_as_one_and_keep_their_own_lines():
    """The load-time checks share one parse per token shape (issue 18); a message still points
    at the right line of each template, and text never hides a different expression."""
    head = "name: p\ninputs: {topic: {type: string}}\nsteps:\n"
    ok = head + "".join(f"  - {{id: s{i}, task: \"part {i}: {{{{ inputs.topic }}}}\"}}\n" for i in range(3))
    assert len(parse_pattern(ok).steps) == 3
    bad = head + ("  - {id: a, task: \"one {{ inputs.topic }}\"}\n"
                  "  - {id: b, task: \"two {{ inputs.tpic }}\"}\n"
                  "  - {id: c, task: \"x\\ny\\n{{ inputs.topic | nofilter }}\"}\n")
    with pytest.raises(SpecError) as err:
        parse_pattern(bad)
    messages = [(d.line, d.message) for d in err.value.diagnostics]
    assert [line for line, _ in messages] == [5, 6]
    assert "unknown input `tpic`" in messages[0][1]
    assert "on line 3" in messages[1][1] and "nofilter" in messages[1][1]
