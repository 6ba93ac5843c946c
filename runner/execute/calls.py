"""A call (a step with ``uses``) at run time: its select node gives the called pattern its
inputs, its aggregate node takes back its outputs (the callee's steps, ``CALL/ID``, run in
between as any other step: runner.spec.compose inlined them, runner.plan.compile ordered them).

    enter(runner, step)   render `with` in the caller's scope -> the callee's inputs (checked)
    leave(runner, step)   the callee's steps all succeeded -> render its outputs in its scope
    inside(records, step) the records of every step the call holds, at any depth
    reacting(...)         whether a step is inside a running call with `runs: on-failure|always`
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.errors import FailureKind, StepFailed
from runner.execute.records import StepRecord
from runner.spec.compose import callee_of
from runner.spec.inputs import check_value, coerce
from runner.spec.models import InputSpec, Step
from runner.spec.templates import Site, evaluate, expression_source, plain, render, step_site


def enter(runner: Any, step: Step) -> None:
    """Give the callee its inputs: each `with` value rendered in the caller's scope, typed and
    checked against the callee's declaration (a template's value can only be checked now)."""
    callee = callee_of(runner.plan.pattern, step.id)
    context = runner.context(step)
    values: dict[str, Any] = {}
    for spec in callee.inputs:
        if spec.name in step.with_inputs:
            site = step_site(runner.plan.pattern, step.id, f"with.{spec.name}")
            values[spec.name] = _value(step, spec, step.with_inputs[spec.name], context, site, runner.stopping)
        else:  # missing required inputs were refused when the file was loaded
            values[spec.name] = spec.default if spec.has_default else None
    runner.scopes[f"{step.id}/"] = values


def _value(step: Step, spec: InputSpec, given: Any, context: Mapping[str, Any], site: Any, stop: Any) -> Any:
    """One input's value: a literal as written; a template rendered (one ``{{ expression }}``
    for a non-string input keeps its value's type: a list stays a list)."""
    value = given
    if isinstance(given, str) and not plain(given):
        whole = given.strip()
        single = whole.startswith("{{") and whole.endswith("}}") and "{{" not in whole[2:-2]
        if spec.type != "string" and single:
            value = evaluate(expression_source(whole), context, site=site, stop=stop)
        else:
            value = render(given, context, site=site, stop=stop)
    try:
        if isinstance(value, str) and spec.type != "string":
            value = coerce(value, spec.type)
        message = check_value(value, type=spec.type, enum=spec.enum, min=spec.min, max=spec.max,
                              pattern=spec.pattern)
    except ValueError as exc:
        message = str(exc)
    if message:
        raise StepFailed(FailureKind.CONFIG, f"input `{spec.name}` of `{step.uses}`: {message}")
    return value


def leave(runner: Any, step: Step) -> None:
    """The call's outcome: failed as its first failed step when one did not succeed, else its
    outputs (``steps.ID.outputs``; ``steps.ID.output`` is the only one, or all of them)."""
    records: dict[str, StepRecord] = runner.records
    scope = f"{step.id}/"
    mine = [r for r in records.values() if r.id.startswith(scope) and "/" not in r.id[len(scope):]]
    failed = [r for r in mine if r.status == "failed"] or [r for r in mine if r.status == "cancelled"]
    if failed:
        first = failed[0]
        raise StepFailed(first.error_kind or FailureKind.TASK,
                         f"step `{first.id}` {first.status}: {first.error or 'did not succeed'}")
    callee = callee_of(runner.plan.pattern, step.id)
    context = runner.context(scope=scope)
    outputs = {name: render(src, context, site=Site.of(callee, f"$.outputs.{name}"), stop=runner.stopping)
               for name, src in callee.outputs.items()}
    rec = records[step.id]
    rec.outputs = outputs
    rec.output = next(iter(outputs.values())) if len(outputs) == 1 else outputs


def inside(records: Mapping[str, StepRecord], step: Step) -> list[StepRecord]:
    """The records of the steps call ``step`` holds, nested calls' included."""
    return [r for sid, r in records.items() if sid.startswith(f"{step.id}/")]


def reacting(pattern: Any, records: Mapping[str, StepRecord], step: Step) -> bool:
    """Whether ``step`` is held by a running call that reacts to failures (``runs:
    on-failure|always``): after fail-fast, such a call's steps still run, as the call does."""
    parts = step.scope.split("/")[:-1]  # "a/b/" -> the calls a, a/b
    for n in range(1, len(parts) + 1):
        call = "/".join(parts[:n])
        if pattern.step(call).runs != "on-success" and records[call].status == "running":
            return True
    return False
