"""Semantic checks of a pattern that a JSON Schema cannot express.

They run on the raw data even when the schema found problems (so a file's every problem is
reported at once), hence the defensive ``isinstance`` checks: a value of the wrong type was
already reported and is skipped here.
"""

from __future__ import annotations

import re
from typing import Any

from runner.nearmiss import suggest
from runner.spec import templates
from runner.spec.diagnose import Reporter
from runner.spec.fields import unknown_fields
from runner.spec.inputs import check_value
from runner.spec.models import MAX_STEPS

_TEMPLATE_KEYS = (("task", False), ("when", True), ("forEach", True))
# Variables that exist only in some templates of a step: name -> (where, whether a step has it there).
_SCOPED = {
    "item": "the task of a step with `forEach`",
    "index": "the task of a step with `forEach`",
    "previous": "the task of a step with `strategy: sequential`",
    "attempt": "the task of a step (each attempt renders it: `attempt.number`, `attempt.feedback`)",
}
# Templates inside objects: (key, sub-key); rendered when the step runs, like `task`
_NESTED_TEMPLATES = (("workspace", "from"), ("verify", "run"), ("land", "branch"), ("land", "path"),
                     ("land", "message"), ("land", "change"))
_NESTED_KEYS = frozenset(key for key, _ in _NESTED_TEMPLATES)
# what `_check_workspace` looks at: a step with none of them has nothing for it to say
_WORKSPACE_KEYS = frozenset({"workspace", "verify", "land", "aggregation"})


def check_pattern(data: Any, rep: Reporter) -> None:
    """Add every semantic problem of pattern ``data`` to ``rep``."""
    if not isinstance(data, dict):
        return
    inputs_raw = data.get("inputs")
    inputs = inputs_raw if isinstance(inputs_raw, dict) else {}
    _check_inputs(inputs, rep)
    raw_steps = data.get("steps")
    steps = [s if isinstance(s, dict) else {} for s in raw_steps] if isinstance(raw_steps, list) else []
    if len(steps) > MAX_STEPS:  # refused before the per-step checks: the cost stays bounded
        rep.add("$.steps", f"{len(steps)} steps, more than the {MAX_STEPS} a pattern may have: split the work "
                "into several patterns, or use `forEach` over a list")
        return
    index: dict[str, int] = {}
    for i, step in enumerate(steps):
        sid = step.get("id")
        if not isinstance(sid, str):
            continue
        if sid in index:
            first_line = rep.marks.get(f"$.steps[{index[sid]}]", (0, 0))[0]
            rep.add(f"$.steps[{i}].id", f"duplicate step id `{sid}` (first at line {first_line})", at_value=True)
        else:
            index[sid] = i
    edges: dict[str, list[str]] = {sid: [] for sid in index}
    for i, step in enumerate(steps):
        sid = step.get("id") if isinstance(step.get("id"), str) else None
        deps = _check_step(i, step, inputs, index, rep, steps)
        if sid is not None and index.get(sid) == i:
            edges[sid] = list(dict.fromkeys(deps))
    outputs = data.get("outputs")
    if isinstance(outputs, dict):
        for name, src in outputs.items():
            if isinstance(src, str):
                _check_template(f"$.outputs.{name}", src, False, inputs, index, rep, scope=None)
    for cycle in find_cycles(edges):
        rep.add(f"$.steps[{index[cycle[0]]}]", "cycle: " + " -> ".join(cycle))


def _check_inputs(inputs: dict[str, Any], rep: Reporter) -> None:
    for name, spec in inputs.items():
        if not isinstance(spec, dict):
            continue
        path = f"$.inputs.{name}"
        pattern = spec.get("pattern")
        if isinstance(pattern, str):
            message = regex_error(pattern)
            if message:
                rep.add(f"{path}.pattern", message, at_value=True)
                pattern = None
        if "default" in spec and isinstance(spec.get("type", "string"), str):
            enum = spec.get("enum") if isinstance(spec.get("enum"), list) else None
            lo, hi = spec.get("min"), spec.get("max")
            message = check_value(spec["default"], type=spec.get("type", "string"), enum=enum,
                                  min=lo if isinstance(lo, int | float) else None,
                                  max=hi if isinstance(hi, int | float) else None,
                                  pattern=pattern if isinstance(pattern, str) else None)
            if message:
                rep.add(f"{path}.default", f"default does not fit the input: {message}", at_value=True)


def _check_step(i: int, step: dict[str, Any], inputs: dict[str, Any], index: dict[str, int],
                rep: Reporter, steps: list[dict[str, Any]]) -> list[str]:
    """Check one step; return the ids it depends on (needs + steps its templates read)."""
    base = f"$.steps[{i}]"
    deps: list[str] = []
    needs = step.get("needs")
    if isinstance(needs, list):
        for j, need in enumerate(needs):
            if not isinstance(need, str):
                continue
            if need in index:
                deps.append(need)
            else:
                rep.add(f"{base}.needs[{j}]", f"unknown step `{need}` ({suggest(need, index)})", at_value=True)
    deps += _check_call(base, step, inputs, index, rep)
    for key, is_expr in _TEMPLATE_KEYS:
        src = step.get(key)
        if isinstance(src, str):
            deps += _check_template(f"{base}.{key}", src, is_expr, inputs, index, rep, scope=_scope(step, key))
    for key, sub in _NESTED_TEMPLATES if _NESTED_KEYS.intersection(step) else ():
        holder = step.get(key)
        if isinstance(holder, str) and key == "verify":  # `verify: COMMAND` is short for `verify: {run: COMMAND}`
            deps += _check_template(f"{base}.{key}", holder, False, inputs, index, rep, scope=frozenset())
        if isinstance(holder, dict) and isinstance(holder.get(sub), str):
            found = _check_template(f"{base}.{key}.{sub}", holder[sub], False, inputs, index, rep,
                                    scope=frozenset())
            # `land` runs after the step answered: its templates may read the step's own output
            deps += [d for d in found if key != "land" or d != step.get("id")]
    if "land" in step:
        deps += _check_land_from(base, step, index, rep, steps)
    _check_workspace(base, step, rep)
    _check_escalate(base, step, rep)
    if step.get("runs") in ("on-failure", "always") and not deps:
        rep.add(f"{base}.runs", f"`runs: {step['runs']}` reacts to the steps this step needs, and it needs none "
                "(add `needs`)", at_value=True)
    agents = step.get("agents")
    if isinstance(agents, dict):
        lo, hi = agents.get("min", 1), agents.get("max")
        if isinstance(lo, int) and isinstance(hi, int) and hi < lo:
            rep.add(f"{base}.agents.max", f"must be at least `min` ({lo}), got {hi}", at_value=True)
    return deps


def _check_escalate(base: str, step: dict[str, Any], rep: Reporter) -> None:
    """``aggregation.escalate`` starts ``agents.min`` agents of a vote and adds up to ``max``."""
    agg = step.get("aggregation")
    if not (isinstance(agg, dict) and agg.get("escalate") is True):
        return
    path = f"{base}.aggregation.escalate"
    agents = step.get("agents")
    agents = agents if isinstance(agents, dict) else {}
    lo, hi = agents.get("min", 1), agents.get("max")
    if agg.get("type") not in ("voting", "consensus"):
        rep.add(path, f"only `voting` and `consensus` compare answers to escalate on, not `{agg.get('type')}`",
                at_value=True)
    elif step.get("strategy", "parallel") != "parallel":
        rep.add(path, f"needs `strategy: parallel`, not `{step.get('strategy')}`", at_value=True)
    elif not (isinstance(lo, int) and isinstance(hi, int) and hi > lo):
        rep.add(path, "adds agents up to `agents.max`: give a `max` above `min`", at_value=True)


def _check_call(base: str, step: dict[str, Any], inputs: dict[str, Any], index: dict[str, int],
                rep: Reporter) -> list[str]:
    """A step runs agents (`task`) or calls a pattern (`uses`, with `with`); return the steps
    its `with` templates read. The callee is checked against the call in runner.spec.compose."""
    if "uses" not in step:
        if "task" not in step and "id" in step:
            rep.add(base, "a step needs `task` (what its agents do) or `uses` (a pattern to call)")
        if "with" in step:
            rep.add(f"{base}.with", "`with` gives the inputs of a called pattern: it needs `uses`")
        return []
    for key in step:
        if key not in CALL_KEYS and key != "task":
            rep.add(f"{base}.{key}", f"`{key}` does not apply to a step with `uses` (its steps say it in the "
                    f"called pattern; a call takes {', '.join(f'`{k}`' for k in CALL_KEYS)})")
    agents = step.get("agents")
    for key in agents if isinstance(agents, dict) else ():
        if key not in ("capabilities", "prefer"):
            rep.add(f"{base}.agents.{key}", f"`agents.{key}` does not apply to a step with `uses` (a call "
                    "narrows its steps' agents with `capabilities` and `prefer`)")
    deps: list[str] = []
    given = step.get("with")
    for name, src in given.items() if isinstance(given, dict) else ():
        if isinstance(src, str):
            deps += _check_template(f"{base}.with.{name}", src, False, inputs, index, rep, scope=frozenset())
        elif isinstance(src, list | dict) and _holds_template(src):
            rep.add(f"{base}.with.{name}", "a template inside a list or mapping is not rendered: give the whole "
                    "value as one expression, e.g. `\"{{ [inputs.a, steps.b.output] }}\"`", at_value=True)
    return deps


def _holds_template(value: Any, depth: int = 0) -> bool:
    """Whether a `with` list or mapping holds a string with template markup (at any depth)."""
    if isinstance(value, str):
        return not templates.plain(value)
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return depth < 64 and any(_holds_template(v, depth + 1) for v in items)


# the keys a call step may have (the rest belong to the called pattern's steps)
CALL_KEYS = ("id", "description", "uses", "with", "agents", "timeout", "retry", "when", "needs", "runs")


def _captures(step: dict[str, Any]) -> bool:
    ws = step.get("workspace")
    mode = ws if isinstance(ws, str) else ws.get("mode") if isinstance(ws, dict) else None
    return ws is not None and mode != "shared"


def _land_from(step: dict[str, Any]) -> str | None:
    """The other step whose change ``land`` picks (``land.from``), else None."""
    land = step.get("land")
    source = land.get("from") if isinstance(land, dict) else None
    return source if isinstance(source, str) and source != step.get("id") else None


def _check_land_from(base: str, step: dict[str, Any], index: dict[str, int], rep: Reporter,
                     steps: list[dict[str, Any]]) -> list[str]:
    """``land.from`` names an existing step whose change is captured; the step runs after it."""
    source = _land_from(step)
    if source is None:
        return []
    if source not in index:
        rep.add(f"{base}.land.from", f"unknown step `{source}` ({suggest(source, index)})", at_value=True)
        return []
    if not _captures(steps[index[source]]):
        rep.add(f"{base}.land.from", f"step `{source}` has no `workspace` whose change is captured: "
                "there is no change of it to land", at_value=True)
    return [source]


def _check_workspace(base: str, step: dict[str, Any], rep: Reporter) -> None:
    """verify / land / requireChange / best-change need a workspace whose change is captured
    (``land`` with ``from`` another step lands that step's change)."""
    if not _WORKSPACE_KEYS.intersection(step):
        return
    ws = step.get("workspace")
    mode = ws if isinstance(ws, str) else ws.get("mode") if isinstance(ws, dict) else None
    captured = _captures(step)
    agg = step.get("aggregation")
    agg_type = agg if isinstance(agg, str) else agg.get("type") if isinstance(agg, dict) else None
    wanting = [f"{base}.{k}" for k in ("verify", "land") if k in step and not (k == "land" and _land_from(step))]
    if isinstance(ws, dict) and ws.get("requireChange"):
        wanting.append(f"{base}.workspace.requireChange")
    if agg_type == "best-change":
        wanting.append(f"{base}.aggregation")
    for path in wanting:
        if not captured:
            rep.add(path, "needs a `workspace` whose change is captured (mode worktree, copy or readonly; "
                    "see docs/workspaces.md)", at_value=True)
    if "land" in step and mode == "readonly":
        rep.add(f"{base}.land", "a readonly workspace has no change to land", at_value=True)


def _scope(step: dict[str, Any], key: str) -> frozenset[str]:
    """The scoped variables (``_SCOPED``) that template ``key`` of ``step`` sees."""
    if key != "task":  # `when` and `forEach` are evaluated once, before any item or agent
        return _NO_SCOPE
    return _TASK_SCOPES["forEach" in step, step.get("strategy") == "sequential"]


_NO_SCOPE: frozenset[str] = frozenset()
_TASK_SCOPES = {(each, seq): frozenset({"attempt", *(("item", "index") if each else ()), *(("previous",) if seq else ())})
                for each in (False, True) for seq in (False, True)}
_ALWAYS_KNOWN = frozenset({"inputs", "steps"})


def _check_template(path: str, src: str, is_expr: bool, inputs: dict[str, Any], index: dict[str, int],
                    rep: Reporter, *, scope: frozenset[str] | None) -> list[str]:
    """Check one template; ``scope``: the ``_SCOPED`` variables it sees (None: an output, outside any step)."""
    message = templates.syntax_error(src, expression=is_expr)
    if message:
        rep.add(path, message, at_value=True)
        return []
    refs = templates.references(src, expression=is_expr)
    known = _ALWAYS_KNOWN | scope if scope else _ALWAYS_KNOWN
    for name in sorted(refs.variables - known):
        if name in _SCOPED and scope is not None:
            rep.add(path, f"`{name}` is only defined in {_SCOPED[name]}", at_value=True)
        else:
            rep.add(path, f"unknown variable `{name}` ({suggest(name, sorted(known))})", at_value=True)
    for name in sorted(n for n in refs.inputs if n not in inputs):
        hint = suggest(name, inputs) if inputs else "the pattern declares no inputs"
        rep.add(path, f"unknown input `{name}` ({hint})", at_value=True)
    # membership per reference: set(index) here would make checking n steps cost n² (issue 18)
    for sid in sorted(s for s in refs.steps if s not in index):
        rep.add(path, f"unknown step `{sid}` ({suggest(sid, index)})", at_value=True)
    for message in unknown_fields(src, expression=is_expr):
        rep.add(path, message, at_value=True)
    return sorted(s for s in refs.steps if s in index)


def regex_error(pattern: str) -> str | None:
    """A message if ``pattern`` is not a valid regular expression."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"invalid regular expression: {exc}"
    return None


def find_cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """Every dependency cycle once, as ``[a, b, a]``, starting at its first-declared step."""
    order = {n: i for i, n in enumerate(edges)}
    state: dict[str, int] = {}  # 1: on the DFS stack, 2: done
    seen: set[frozenset[str]] = set()
    cycles: list[list[str]] = []

    def found(loop: list[str]) -> None:
        if frozenset(loop) not in seen:
            seen.add(frozenset(loop))
            start = min(range(len(loop)), key=lambda k: order[loop[k]])
            loop = loop[start:] + loop[:start]
            cycles.append([*loop, loop[0]])

    # depth-first without recursion: a chain of 20,000 steps declared last-first is that deep
    for root in edges:
        if root in state:
            continue
        state[root] = 1
        stack, deps = [root], [iter(edges.get(root, ()))]
        while stack:
            dep = next(deps[-1], None)
            if dep is None:
                state[stack.pop()] = 2
                deps.pop()
            elif state.get(dep) == 1:
                found(stack[stack.index(dep):])
            elif dep not in state:
                state[dep] = 1
                stack.append(dep)
                deps.append(iter(edges.get(dep, ())))
    return sorted(cycles, key=lambda c: order[c[0]])
