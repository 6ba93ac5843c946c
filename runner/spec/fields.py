"""What the template variables hold, and the reads of fields that do not exist.

The run-time values are built from these tables (``StepRecord.template_view``, the
``previous`` list of a sequential step), so a template that reads a missing field is refused
when the file is loaded (``runner validate``), not after earlier steps already ran::

    steps.ID.<STEP_FIELDS>            steps.ID.results[i].<ANSWER_FIELDS>
    previous[i].<PREVIOUS_FIELDS>     {% for r in steps.ID.results %}{{ r.<ANSWER_FIELDS> }}

``steps.ID.output`` and ``inputs.NAME`` hold what the step or the user gave: their fields are
not checked.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from runner.nearmiss import suggest
from runner.spec.templates import parsed, plain, shape

STEP_FIELDS = ("output", "confidence", "status", "error", "results",
               "changes", "change", "landed",  # these three: steps with a workspace (else [] / none)
               "outputs")  # a step with `uses`: the called pattern's outputs by name (else {})
ANSWER_FIELDS = ("agent", "result", "confidence", "reasoning", "item")  # one entry of steps.ID.results
PREVIOUS_FIELDS = ("agent", "result", "confidence", "reasoning")  # one entry of previous


def unknown_fields(src: str, *, expression: bool = False) -> tuple[str, ...]:
    """A message for every read of a field that the value read does not have."""
    if expression:
        return _unknown(src, True)
    return () if plain(src) else _unknown(shape(src), False)


@lru_cache(maxsize=1024)
def _unknown(src: str, expression: bool) -> tuple[str, ...]:
    from jinja2 import nodes  # lazy: cold start (jinja2: only patterns with templates)


    tree = parsed(src, expression)
    if tree is None:
        return ()
    problems: list[str] = []
    # Loop variables bound to a list of known entries: `{% for r in steps.x.results %}`.
    loops: dict[str, tuple[str, tuple[str, ...]]] = {}
    other: set[str] = set()  # names also bound to something else: not checked
    for loop in tree.find_all(nodes.For):
        entries = _entries(loop.iter)
        for target in loop.target.find_all(nodes.Name) if not isinstance(loop.target, nodes.Name) else ():
            other.add(target.name)
        if isinstance(loop.target, nodes.Name):
            if entries is None or loops.get(loop.target.name, entries) != entries:
                other.add(loop.target.name)
            else:
                loops[loop.target.name] = entries
    for assign in tree.find_all((nodes.Assign, nodes.AssignBlock)):
        other.update(n.name for n in assign.target.find_all(nodes.Name))
        if isinstance(assign.target, nodes.Name):
            other.add(assign.target.name)
    for name in other:
        loops.pop(name, None)
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        key = _key(node)
        if key is None:
            continue
        known = _fields_of(node.node, loops)
        if known is not None and key not in known[1]:
            problems.append(f"`{known[0]}` has no field `{key}` ({suggest(key, list(known[1]))})")
    return tuple(dict.fromkeys(problems))


def outputs_read(src: str, *, expression: bool = False) -> tuple[tuple[str, str], ...]:
    """(step id, output name) of every ``steps.ID.outputs.NAME`` a template reads (calls' outputs,
    checked against the callee by runner.spec.compose)."""
    if not expression and plain(src):
        return ()
    return _outputs_read(src if expression else shape(src), expression)


@lru_cache(maxsize=1024)
def _outputs_read(src: str, expression: bool) -> tuple[tuple[str, str], ...]:
    from jinja2 import nodes  # lazy: cold start (jinja2: only patterns with templates)


    tree = parsed(src, expression)
    found: dict[tuple[str, str], None] = {}
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)) if tree is not None else ():
        name, holder = _key(node), node.node
        if name is None or not isinstance(holder, nodes.Getattr | nodes.Getitem) or _key(holder) != "outputs":
            continue
        step = _step_of(holder.node)
        if step is not None:
            found[(step, name)] = None
    return tuple(found)


def _key(node: Any) -> str | None:
    """The constant name ``node`` reads (``x.name`` or ``x['name']``), else None."""
    from jinja2 import nodes  # lazy: cold start (jinja2: only patterns with templates)

    if isinstance(node, nodes.Getattr):
        return str(node.attr)
    if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    return None


def _step_of(node: Any) -> str | None:
    """``steps.ID`` / ``steps['ID']`` → ID."""
    from jinja2 import nodes  # lazy: cold start (jinja2: only patterns with templates)

    if isinstance(node, nodes.Getattr | nodes.Getitem) and isinstance(node.node, nodes.Name) \
            and node.node.name == "steps":
        return _key(node)
    return None


def _entries(node: Any) -> tuple[str, tuple[str, ...]] | None:
    """(label, fields of one entry) when ``node`` is a list of known entries."""
    from jinja2 import nodes  # lazy: cold start (jinja2: only patterns with templates)

    if isinstance(node, nodes.Name) and node.name == "previous":
        return "previous[]", PREVIOUS_FIELDS
    if isinstance(node, nodes.Getattr | nodes.Getitem) and _key(node) == "results":
        step = _step_of(node.node)
        if step is not None:
            return f"steps.{step}.results[]", ANSWER_FIELDS
    return None


def _fields_of(node: Any, loops: dict[str, tuple[str, tuple[str, ...]]]) -> tuple[str, tuple[str, ...]] | None:
    """(label, fields) of the value ``node`` evaluates to, when it is known."""
    from jinja2 import nodes  # lazy: cold start (jinja2: only patterns with templates)

    step = _step_of(node)
    if step is not None:
        return f"steps.{step}", STEP_FIELDS
    if isinstance(node, nodes.Name) and node.name in loops:
        return loops[node.name]
    if isinstance(node, nodes.Getitem) and _key(node) is None:
        return _entries(node.node)  # steps.x.results[0], previous[-1], previous[i]
    return None
