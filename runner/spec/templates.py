"""Jinja2 for task texts, ``when`` / ``forEach`` expressions and outputs.

One sandboxed environment (templates come from files that may be shared: they must not
reach Python internals, build huge values or run for ever: ``runner.spec.sandbox``),
``StrictUndefined`` (a misspelt ``inputs.x`` is an error, not an empty string), no autoescaping
(the output is a prompt, not HTML). Compiled templates are cached by source. ``tojson`` is
plain ``json.dumps`` (Jinja's own escapes ``<>&'`` for HTML).

The render context at run time::

    {"inputs": {...},
     "steps": {step_id: {"output": ..., "confidence": ..., "results": [...], "status": ...}},
     "item": <fan-out item>, "index": <int>}
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from runner.errors import Diagnostic, Interrupted, SpecError
from runner.spec.models import owner
from runner.spec.yamlload import mark_of


@dataclass(frozen=True)
class Refs:
    """What a template reads: ``inputs.NAME`` and ``steps.ID`` names, and its free variables."""

    inputs: frozenset[str] = frozenset()
    steps: frozenset[str] = frozenset()
    variables: frozenset[str] = frozenset()  # top-level names read (inputs, steps, item, ...), not globals


@dataclass(frozen=True)
class Site:
    """Where a template comes from, for error messages (``file:line:col: path``)."""

    file: str = "<template>"
    path: str = "$"
    line: int = 0
    col: int = 0
    label: str = ""  # e.g. "step `lint`", put before the message

    @classmethod
    def of(cls, spec: Any, path: str) -> Site:
        """The site of ``path`` (e.g. ``$.steps[1].task``) in a loaded Pattern or Pool."""
        line, col = mark_of(getattr(spec, "marks", None) or {}, path)  # no copy: marks are large
        return cls(file=getattr(spec, "source", "<memory>"), path=path, line=line, col=col)


def step_site(pattern: Any, step_id: str, key: str = "task") -> Site:
    """The site of a step's ``task`` / ``when`` / ``forEach`` for error messages (a called
    pattern's step: in the callee's file, labelled with its id in the run)."""
    if "/" in step_id and getattr(pattern, "calls", None):
        home, local, _ = owner(pattern, step_id)
        site = step_site(home, local, key)
        return Site(file=site.file, path=site.path, line=site.line, col=site.col, label=f"step `{step_id}`")
    index = pattern.step_index.get(step_id) if hasattr(pattern, "step_index") else None
    if index is not None:
        site = Site.of(pattern, f"$.steps[{index}].{key}")
        return Site(file=site.file, path=site.path, line=site.line, col=site.col, label=f"step `{step_id}`")
    return Site(file=pattern.source, path="$.steps", label=f"step `{step_id}`")


def _pass_through() -> tuple[type[BaseException], ...]:
    from runner.spec.sandbox import Stopped  # lazy: cold start (jinja2: only patterns with templates)

    # a signal (raised in the main thread wherever it runs) or the run stopping is not the template's fault
    return (Interrupted, Stopped)


@cache
def environment() -> Any:
    """The shared SandboxedEnvironment (built on first use: jinja2 stays out of `runner --help`)."""
    from jinja2 import StrictUndefined  # lazy: cold start (jinja2: only patterns with templates)

    from runner.spec.sandbox import BoundedSandbox  # lazy: cold start (jinja2: only patterns with templates)

    env = BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    env.add_filter("tojson", lambda value, indent=None: json.dumps(value, indent=indent, ensure_ascii=False))
    return env


@lru_cache(maxsize=1024)
def _template(src: str) -> Any:
    return environment().from_string(src)


@lru_cache(maxsize=1024)
def _expression(expr: str) -> Any:
    return environment().compile_expression(expression_source(expr), undefined_to_none=False)


def expression_source(expr: str) -> str:
    """``{{ inputs.n > 2 }}`` → ``inputs.n > 2``; a bare expression is returned stripped."""
    text = expr.strip()
    if text.startswith("{{") and text.endswith("}}"):
        return text[2:-2].strip()
    return text


def render(src: str, context: Mapping[str, Any], *, site: Site | None = None,
           stop: threading.Event | None = None) -> str:
    """Render template ``src`` with ``context``; SpecError (pointing at ``site``) on any error.

    ``stop``: when it is set, rendering ends soon with ``runner.spec.sandbox.Stopped``.
    """
    if plain(src) and "\r" not in src:  # renders as itself (Jinja would turn \r\n into \n): no jinja2 needed
        return src
    from runner.spec.sandbox import (  # lazy: cold start (jinja2: only patterns with templates)
        join_bounded,
        stopping_on,
    )

    try:
        with stopping_on(stop):
            return join_bounded(_template(src).generate(**context))
    except Exception as exc:  # noqa: BLE001 - every template failure becomes a diagnostic
        if isinstance(exc, _pass_through()):
            raise
        raise _error(exc, site, "template") from None


def evaluate(expr: str, context: Mapping[str, Any], *, site: Site | None = None,
             stop: threading.Event | None = None) -> Any:
    """Evaluate a ``when`` / ``forEach`` expression to a native Python value (``stop``: as ``render``)."""
    from runner.spec.sandbox import stopping_on  # lazy: cold start (jinja2: only patterns with templates)

    try:
        with stopping_on(stop):
            return _expression(expr)(**context)
    except Exception as exc:  # noqa: BLE001
        if isinstance(exc, _pass_through()):
            raise
        raise _error(exc, site, "expression") from None


def plain(src: str) -> bool:
    """Text without any Jinja markup: it renders as itself, reads nothing, cannot be wrong."""
    return "{" not in src


def syntax_error(src: str, *, expression: bool = False) -> str | None:
    """A readable message if ``src`` does not compile, else None."""
    if not expression and plain(src):
        return None
    try:
        _expression(src) if expression else _template(shape(src))
    except Exception as exc:  # noqa: BLE001
        return _message(exc, "expression" if expression else "template")
    return None


def references(src: str, *, expression: bool = False) -> Refs:
    """The ``inputs.x`` / ``inputs['x']`` / ``steps.y...`` names a template (or expression) reads.

    Found by walking the Jinja AST, so text that merely looks like ``inputs.x`` is not counted.
    A template that does not parse has no references (its syntax error is reported apart).
    """
    if expression:
        return _references(src, True)
    return Refs() if plain(src) else _references(shape(src), False)


#: token layout (line, kind, text; literal text left out) → the first template seen with it
_SHAPES: dict[tuple[Any, ...], str] = {}
_MAX_SHAPES = 4096


@lru_cache(maxsize=16384)  # one lex per text: it is asked by each check and by the plan
def shape(src: str) -> str:
    """A template with the same tokens on the same lines as ``src``, differing at most in literal
    text: the one the load-time checks parse, compile and walk in its place.

    Checks never look at literal text (it cannot be wrong, it reads nothing), so their results
    (messages and line numbers included) are the same for every template of one shape. A
    generated pattern of 10,000 steps whose tasks differ only in their text then costs one Jinja
    parse and compile, plus a lex per task. Text that does not lex is its own shape.
    """
    key: tuple[Any, ...] | None = _simple_key(src)
    if key is None:
        try:
            tokens = environment().lexer.tokeniter(src, None)
            key = tuple((line, kind, None if kind == "data" else text) for line, kind, text in tokens)
        except Exception:  # noqa: BLE001 - a lexer error: the checks report it on the text itself
            return src
    found = _SHAPES.get(key)
    if found is None:
        if len(_SHAPES) >= _MAX_SHAPES:
            _SHAPES.clear()
        found = _SHAPES[key] = src
    return found


#: ``{{ ... }}`` of names, numbers and operators: what Jinja's lexer always splits into tokens
#: (its position-bearing "unexpected char" error cannot happen there; a bracket error names a line)
_SIMPLE = re.compile(r"\{\{([A-Za-z0-9_ \t\n.|()\[\],+\-*/%<>=!~:]*)\}\}")


def _simple_key(src: str) -> tuple[Any, ...] | None:
    """The shape key of a template made only of literal text and ``{{ ... }}`` of names, numbers
    and operators (``_SIMPLE``, found as Jinja's lexer finds them): each block's first line and
    text, without lexing. None for any other template (the lexer keys it): ``{%``, ``{#``, a
    string, any other character or brace, a carriage return (Jinja counts it as a line break)."""
    if "\r" in src:
        return None
    blocks = [(src.count("\n", 0, m.start()) + 1, m.group(1)) for m in _SIMPLE.finditer(src)]
    if "{" in _SIMPLE.sub("", src):
        return None
    return ("simple", *blocks)


@lru_cache(maxsize=1024)
def parsed(src: str, expression: bool) -> Any:
    """The Jinja AST of a template (or expression), read-only; None when it does not parse.
    Shared by the checks that walk it (references, fields), so a file's template parses once."""
    try:
        return environment().parse("{{ " + expression_source(src) + " }}" if expression else src)
    except Exception:  # noqa: BLE001 - a syntax error is reported apart
        return None


@lru_cache(maxsize=1024)
def _references(src: str, expression: bool) -> Refs:
    from jinja2 import meta, nodes  # lazy: cold start (jinja2: only patterns with templates)

    tree = parsed(src, expression)
    if tree is None:
        return Refs()
    found: dict[str, set[str]] = {"inputs": set(), "steps": set()}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        base = node.node
        if not (isinstance(base, nodes.Name) and base.name in found):
            continue
        if isinstance(node, nodes.Getattr):
            found[base.name].add(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            found[base.name].add(node.arg.value)
    free = meta.find_undeclared_variables(tree) - set(environment().globals)
    return Refs(inputs=frozenset(found["inputs"]), steps=frozenset(found["steps"]), variables=frozenset(free))


def step_dependencies(step: Any) -> tuple[str, ...]:
    """The steps ``step`` runs after: its ``needs``, then the steps its task/when/forEach and its
    ``land`` (``from``, templates) read.

    The same rule the loader's cycle check uses, so plan and validation agree. Ids are those of
    the step's own file: a called pattern's step reads them in its ``scope`` (``CALL/``).
    """
    found = list(step.needs)
    found += sorted(references(step.task).steps)
    for value in step.with_inputs.values():
        if isinstance(value, str):
            found += sorted(references(value).steps)
    for expr in (step.when, step.for_each):
        if expr:
            found += sorted(references(expr, expression=True).steps)
    land = getattr(step, "land", None)
    if land is not None:  # it lands after the step answered: reading the step's own output is no cycle
        if land.source and land.source != step.id:
            found.append(land.source)
        for src in (land.change, land.branch, land.path, land.message):
            if src:
                found += sorted(s for s in references(src).steps if s != step.id)
    return tuple(dict.fromkeys(found))


def _message(exc: Exception, what: str) -> str:
    from jinja2 import (  # lazy: cold start (jinja2: only patterns with templates)
        TemplateSyntaxError,
        UndefinedError,
    )

    if isinstance(exc, TemplateSyntaxError):
        where = f" on line {exc.lineno}" if what == "template" and exc.lineno and exc.lineno > 1 else ""
        return f"{what} syntax error{where}: {exc.message}"
    if isinstance(exc, UndefinedError):
        return f"{what} uses an undefined value: {exc.message}"
    return f"{what} failed: {type(exc).__name__}: {exc}"


def _error(exc: Exception, site: Site | None, what: str) -> SpecError:
    s = site or Site()
    message = _message(exc, what)
    if s.label:
        message = f"{s.label}: {message}"
    return SpecError([Diagnostic(file=s.file, line=s.line, col=s.col, path=s.path, message=message)])
