"""Render a plan as text, JSON, Mermaid or Graphviz dot. Starts nothing, prints no secret."""

from __future__ import annotations

import json
from typing import Any

from runner import plugins
from runner.errors import RunnerError
from runner.plan.model import Plan
from runner.runtimes import RUNTIMES
from runner.spec.compose import callee_of
from runner.spec.models import Budget

FORMATS = ("text", "json", "mermaid", "dot")


def _fmt_seconds(value: float | None) -> str:
    if value is None:
        return "none"
    return f"{value:g}s"


def describe_budget(budget: Budget) -> str:
    """``cost $2.5, tokens 200000, time 1800s``; "" for no budget."""
    parts = ([f"cost ${budget.cost:g}"] if budget.cost is not None else []) + \
        ([f"tokens {budget.tokens}"] if budget.tokens is not None else []) + \
        ([f"time {_fmt_seconds(budget.time)}"] if budget.time is not None else [])
    return ", ".join(parts)


def _budget_dict(budget: Budget) -> dict[str, Any] | None:
    return {"cost": budget.cost, "tokens": budget.tokens, "time": budget.time} if budget else None


def _spawn_detail(plan: Plan, agent_id: str, runtime: str | None) -> str:
    """The runtime's own words for what spawning the agent creates (a pod, a container), or ""."""
    info = next((a for sel in plan.selections.values() for a in sel.agents if a.id == agent_id), None)
    config = next((c for c in plan.pool.runtimes if c.type == runtime), None)
    if info is None or runtime is None:
        return ""
    try:
        cls = plugins.load("runtime", RUNTIMES, runtime)
        return str(cls.describe_spawn(info, config.options if config else {}) or "")
    except (RunnerError, AttributeError):  # plan must still show, whatever the runtime says
        return ""


def _agent_line(plan: Plan, step: str) -> list[str]:
    sel = plan.selections[step]
    out = []
    for a in sel.agents:
        how = f"spawn on {sel.runtimes.get(a.id, '?')}" if a.id in sel.spawn else f"at {a.endpoint}"
        out.append(f"{a.id} ({a.type}, {a.source}, {how})")
    return out


def _describe(plan: Plan, node_id: str) -> str:
    node = plan.node(node_id)
    if node.kind == "cleanup":
        n = len(plan.spawned_agents)
        return f"stop {n} spawned agent{'s' if n != 1 else ''} and release every other one"
    step = plan.pattern.step(node.step or "")
    sel = plan.selections[step.id]
    if step.uses is not None:
        return _describe_call(plan, step, node.kind)
    if node.kind == "select":
        caps = ", ".join(step.agents.capabilities) or "any"
        spare = f"; forEach may add {len(sel.lanes)} more group(s) of template instances" if sel.lanes else ""
        return f"capabilities [{caps}] -> " + "; ".join(_agent_line(plan, step.id)) + spare
    if node.kind == "spawn":
        parts = []
        for a in sel.spawn:
            detail = _spawn_detail(plan, a, sel.runtimes.get(a))
            parts.append(f"{a} on {sel.runtimes.get(a, '?')}" + (f" ({detail})" if detail else ""))
        return "start " + ", ".join(parts)
    if node.kind == "execute":
        parts = [step.strategy, f"{len(sel.agents)} agent{'s' if len(sel.agents) != 1 else ''}",
                 f"timeout {_fmt_seconds(step.timeout)}"]
        if step.retry.limit:
            parts.append(f"retry {step.retry.limit}x on {','.join(step.retry.on)}")
        if step.for_each:
            parts.append(f"for each of {step.for_each}")
        if step.when:
            parts.append(f"when {step.when}")
        if step.runs != "on-success":
            parts.append(f"runs {step.runs}")
        if step.budget:
            parts.append(f"budget {describe_budget(step.budget)}")
        if step.workspace is not None:  # docs/workspaces.md
            ws = step.workspace
            parts.append(f"workspace {ws.mode or 'worktree/copy'} of {ws.source or 'the working directory'}")
        if step.verify is not None:
            parts.append(f"verify `{step.verify.run}`")
        if step.land is not None:
            parts.append(f"land as {step.land.to}")
        return ", ".join(parts)
    agg = step.aggregation
    text = agg.type
    if agg.type == "voting":
        text += f"/{agg.method}"
    elif agg.type == "consensus":
        text += f" >= {agg.threshold:g}"
    if step.validation.min_confidence is not None:
        text += f", minConfidence {step.validation.min_confidence:g} else {step.validation.on_failure}"
    return text


def _describe_call(plan: Plan, step: Any, kind: str) -> str:
    """A call's two nodes: what its select gives the callee, what its aggregate gives back."""
    callee = callee_of(plan.pattern, step.id)
    if kind == "select":
        parts = [f"call {step.uses}" + (f" ({callee.name} {callee.version})" if callee else "")]
        if step.with_inputs:
            parts.append("with " + ", ".join(step.with_inputs))
        if step.when:
            parts.append(f"when {step.when}")
        if step.runs != "on-success":
            parts.append(f"runs {step.runs}")
        return ", ".join(parts)
    names = list(callee.outputs) if callee else []
    return ("outputs " + ", ".join(names) if names else "no outputs") + f" of {step.uses}"


def _group(plan: Plan, node_id: str) -> str:
    """The call (``C/``) a node is drawn inside: its step's scope; a call's own nodes, inside it."""
    step_id = plan.node(node_id).step
    if step_id is None:
        return ""
    step = plan.pattern.step(step_id)
    return f"{step.id}/" if step.uses is not None else step.scope


def _clusters(plan: Plan, open_: Any, node: Any, close: str) -> list[str]:
    """Nodes grouped into nested clusters, one per call: ``open_(call id, depth)`` and ``close``
    lines around each call's nodes, ``node(node id, depth)`` for each node, in plan order."""
    members: dict[str, list[str]] = {}
    for n in plan.order:
        members.setdefault(_group(plan, n), []).append(n)
    lines: list[str] = []

    def emit(scope: str, depth: int) -> None:
        done: set[str] = set()
        for n in members.get(scope, []):
            lines.append(node(n, depth))
        for inner in members:  # plan order: a call's cluster follows its parent's nodes
            if inner != scope and inner.startswith(scope) and "/" not in inner[len(scope):-1] and inner not in done:
                done.add(inner)
                lines.append(open_(inner[:-1], depth))
                emit(inner, depth + 1)
                lines.append("    " * depth + close)

    emit("", 1)
    return lines


def _call_dict(plan: Plan, step_id: str) -> dict[str, Any]:
    callee = callee_of(plan.pattern, step_id)
    return {"uses": plan.pattern.step(step_id).uses, "pattern": callee.name, "version": callee.version,
            "source": callee.source, "outputs": list(callee.outputs)}


def to_dict(plan: Plan) -> dict[str, Any]:
    return {
        "pattern": {"name": plan.pattern.name, "version": plan.pattern.version},
        "pool": plan.pool.name,
        "inputs": dict(plan.inputs),
        "nodes": [
            {"id": n, "kind": plan.node(n).kind, "step": plan.node(n).step,
             "after": sorted(plan.graph.predecessors(n)), "description": _describe(plan, n)}
            for n in plan.order
        ],
        "selections": {
            step: {
                "agents": [{"id": a.id, "name": a.name, "type": a.type, "source": a.source,
                            "endpoint": a.endpoint, "capabilities": list(a.capabilities)}
                           for a in sel.agents],
                "spawn": [{"id": a, "runtime": sel.runtimes.get(a),
                           "creates": _spawn_detail(plan, a, sel.runtimes.get(a))} for a in sel.spawn],
                "spare": [[a.id for a in lane] for lane in sel.lanes],
            }
            for step, sel in plan.selections.items()
        },
        # steps with `uses`: what each calls (its steps are in "nodes" as CALL/ID)
        "calls": {s.id: _call_dict(plan, s.id) for s in plan.pattern.steps if s.uses is not None},
        "spawned": len(plan.spawned_agents),
        "budget": _budget_dict(plan.pattern.budget),
        "budgets": {s.id: _budget_dict(s.budget) for s in plan.pattern.steps if s.budget},
    }


def step_graph(plan: Plan) -> dict[str, Any]:
    """The plan as steps and the steps each waits for (``run.json``'s ``plan``: what a run report
    draws). ``group`` names the nested pattern a step came from (``None``: the top pattern)."""
    after: dict[str, set[str]] = {s.id: set() for s in plan.pattern.steps}
    for u, v in plan.graph.edges:
        a, b = plan.node(u).step, plan.node(v).step
        if a and b and a != b and not a.startswith(f"{b}/"):  # a call waiting for its own steps
            after[b].add(a)
    return {"steps": [{"id": s.id, "needs": sorted(after[s.id], key=plan.pattern.step_index.__getitem__),
                       "strategy": s.strategy, "aggregation": s.aggregation.type,
                       "agents": [a.id for a in plan.selections[s.id].agents] if s.id in plan.selections else [],
                       "group": s.scope[:-1] or None}
                      for s in plan.pattern.steps]}


def render_text(plan: Plan) -> str:
    agents = {a.id for sel in plan.selections.values() for a in sel.agents}
    lines = [
        f"plan: {plan.pattern.name} {plan.pattern.version} with pool {plan.pool.name}",
        f"inputs: {json.dumps(dict(plan.inputs), default=str)}",
        f"{len(plan.pattern.steps)} steps, {len(agents)} agents selected, "
        f"{len(plan.spawned_agents)} to spawn; nothing has been started",
        *([f"budget: {describe_budget(plan.pattern.budget)}"] if plan.pattern.budget else []),
        "",
    ]
    width = max(len(n) + 2 * (plan.node(n).step or "").count("/") for n in plan.order)
    for i, node_id in enumerate(plan.order, 1):
        after = sorted(p for p in plan.graph.predecessors(node_id) if not p.startswith(node_id.split(":")[0]))
        dep = f"  (after {', '.join(after)})" if after and plan.node(node_id).kind == "select" else ""
        indent = "  " * (plan.node(node_id).step or "").count("/")  # a called pattern's steps
        lines.append(f"{i:>3}. {indent + node_id:<{width}}  {_describe(plan, node_id)}{dep}")
    return "\n".join(lines) + "\n"


def _mermaid_id(node_id: str) -> str:
    return node_id.replace(":", "_").replace("-", "_").replace("/", "__")


def render_mermaid(plan: Plan) -> str:
    lines = ["flowchart TD"]
    lines += _clusters(plan, lambda call, depth: "    " * depth + f'subgraph {_mermaid_id("call:" + call)}'
                       f'["{call}: {plan.pattern.step(call).uses}"]',
                       lambda n, depth: "    " * depth + f'{_mermaid_id(n)}["{n}"]', "end")
    for u, v in sorted(plan.graph.edges, key=lambda e: (plan.order.index(e[0]), plan.order.index(e[1]))):
        lines.append(f"    {_mermaid_id(u)} --> {_mermaid_id(v)}")
    return "\n".join(lines) + "\n"


def render_dot(plan: Plan) -> str:
    lines = [f'digraph "{plan.pattern.name}" {{', "    rankdir=TB;"]
    lines += _clusters(plan, lambda call, depth: "    " * depth + f'subgraph "cluster_{call}" {{ label="{call}: '
                       f'{plan.pattern.step(call).uses}";',
                       lambda n, depth: "    " * depth + f'"{n}" [shape={"box" if plan.node(n).kind == "execute" else "ellipse"}];',
                       "}")
    for u, v in sorted(plan.graph.edges, key=lambda e: (plan.order.index(e[0]), plan.order.index(e[1]))):
        lines.append(f'    "{u}" -> "{v}";')
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(plan: Plan, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(to_dict(plan), indent=2, default=str) + "\n"
    if fmt == "mermaid":
        return render_mermaid(plan)
    if fmt == "dot":
        return render_dot(plan)
    return render_text(plan)
