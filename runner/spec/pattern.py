"""Load pattern files into the frozen ``Pattern`` model (defaults applied, durations in seconds)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from runner.errors import FailureKind
from runner.spec.checks import check_pattern
from runner.spec.compose import flatten, has_calls
from runner.spec.document import load_checked, paused_gc, read_text
from runner.spec.models import (
    DEFAULT_RETRY_ON,
    MAX_ITEMS,
    AgentRequirement,
    Aggregation,
    Approval,
    Backoff,
    Budget,
    InputSpec,
    Land,
    Pattern,
    RetryPolicy,
    Step,
    Validation,
    Verify,
    WorkspaceSpec,
)
from runner.spec.units import optional_duration, parse_duration
from runner.spec.yamlload import YamlDoc


def load_pattern(path: str | Path) -> Pattern:
    """Read, check and build the pattern in ``path``; SpecError lists every problem."""
    return parse_pattern(read_text(path), str(path))


def parse_pattern(text: str, source: str = "<memory>", *, doc: YamlDoc | None = None) -> Pattern:
    """Check and build a pattern from YAML ``text`` (``source`` names it in messages).

    ``doc``: the text already parsed by ``load_yaml`` (saves parsing it twice).
    """
    with paused_gc():  # building the model allocates as much as checking it (document.paused_gc)
        doc = load_checked(text, source, "pattern", check_pattern, doc)
        pattern = build_pattern(doc.data, source, doc.marks)
    if has_calls(doc.data.get("steps")):  # a pattern without `uses` pays nothing more
        pattern = flatten(pattern)
    return pattern


def build_pattern(d: dict[str, Any], source: str, marks: Mapping[str, tuple[int, int]]) -> Pattern:
    """The Pattern for schema-valid data ``d``."""
    version = d.get("version", "0.1.0")
    return Pattern(
        name=d["name"],
        version=str(version),
        description=d.get("description", ""),
        inputs=tuple(_input(name, spec) for name, spec in (d.get("inputs") or {}).items()),
        steps=_steps(d["steps"], marks),
        outputs=dict(d.get("outputs") or {}),
        concurrency=d.get("concurrency"),
        timeout=optional_duration(d.get("timeout")),
        budget=_budget(d.get("budget")),
        fail_fast=d.get("failFast", True),
        source=source,
        marks=marks,
    )


def _input(name: str, s: dict[str, Any]) -> InputSpec:
    return InputSpec(
        name=name,
        type=s.get("type", "string"),
        required=s.get("required", False),
        default=s.get("default"),
        has_default="default" in s,
        enum=tuple(s["enum"]) if "enum" in s else None,
        min=s.get("min"),
        max=s.get("max"),
        pattern=s.get("pattern"),
        description=s.get("description", ""),
    )


def _steps(raw: list[dict[str, Any]], marks: Mapping[str, tuple[int, int]]) -> tuple[Step, ...]:
    shared: dict[Any, Any] = {}  # one object per distinct value of a step's parts (models are frozen)
    return tuple(_step(s, marks.get(f"$.steps[{i}]", (0, 0))[0], shared) for i, s in enumerate(raw))


def _one(shared: dict[Any, Any], kind: type, raw: Any, make: Callable[[], Any]) -> Any:
    """The ``kind`` object made by ``make()`` from the raw value ``raw``, made once per pattern: the
    steps of a large pattern mostly say the same (`agents`, `retry`, `aggregation`), and fewer
    objects are faster to build and to keep (the garbage collector walks each one). The key is
    ``repr(raw)``: JSON-like values of equal text are equal in value and type (``1`` is not ``1.0``)."""
    key = (kind, repr(raw))
    found = shared.get(key)
    if found is None:
        found = shared[key] = make()
    return found


def _step(s: dict[str, Any], line: int, shared: dict[Any, Any]) -> Step:
    agents = s.get("agents") or {}
    # One agent: its answer is the output; several: the list of every answer, unless said otherwise.
    agg = s.get("aggregation", "first" if agents.get("max", agents.get("min", 1)) == 1 else "all")
    agg = {"type": agg} if isinstance(agg, str) else agg
    val = s.get("validation")
    retry = s.get("retry")
    when = s.get("when")
    return Step(
        id=s["id"],
        task=s.get("task", ""),
        uses=s.get("uses"),
        with_inputs=dict(given) if (given := s.get("with")) else _NO_INPUTS,
        agents=_one(shared, AgentRequirement, agents, lambda: _agents(agents)),
        strategy=s.get("strategy", "parallel"),
        aggregation=_one(shared, Aggregation, agg, lambda: _aggregation(agg)),
        validation=_validation(val) if val else _NO_VALIDATION,
        retry=_one(shared, RetryPolicy, retry, lambda: _retry(retry)) if retry else _NO_RETRY,
        timeout=optional_duration(s.get("timeout")),
        budget=_budget(s.get("budget")),
        inactivity=optional_duration(s.get("inactivity")),
        when=("true" if when else "false") if isinstance(when, bool) else when,
        needs=tuple(s.get("needs", ())),
        runs=s.get("runs", "on-success"),
        for_each=s.get("forEach"),
        max_items=s.get("maxItems", MAX_ITEMS),
        data=dict(s.get("data") or {}),
        workspace=_workspace(s.get("workspace")),
        verify=_verify(s.get("verify")),
        land=_land(s.get("land")),
        approval=_approval(s.get("approval")),
        cache=bool(s.get("cache", False)),
        line=line,
    )


def _agents(agents: dict[str, Any]) -> AgentRequirement:
    low = agents.get("min", 1)
    return AgentRequirement(capabilities=tuple(agents.get("capabilities", ())), min=low, max=agents.get("max", low),
                            prefer=tuple(agents.get("prefer", ())), min_confidence=agents.get("minConfidence"))


def _aggregation(agg: dict[str, Any]) -> Aggregation:
    return Aggregation(type=agg["type"], method=agg.get("method", "majority"), threshold=agg.get("threshold", 0.5),
                       complete=agg.get("complete", False), escalate=agg.get("escalate", False))


def _validation(val: dict[str, Any]) -> Validation:
    return Validation(min_confidence=val.get("minConfidence"), on_failure=val.get("onFailure", "fail"),
                      fallback=val.get("fallback"))


def _retry(retry: dict[str, Any]) -> RetryPolicy:
    backoff = retry.get("backoff")
    base = _BACKOFF
    return RetryPolicy(
        limit=retry.get("limit", 0),
        backoff=Backoff(
            initial=parse_duration(backoff.get("initial", base.initial)),
            factor=float(backoff.get("factor", base.factor)),
            max=parse_duration(backoff.get("max", base.max)),
            jitter=float(backoff.get("jitter", base.jitter)),
        ) if backoff else base,
        on=tuple(FailureKind(k) for k in retry["on"]) if "on" in retry else DEFAULT_RETRY_ON,  # the schema checked them
    )


def _workspace(w: Any) -> WorkspaceSpec | None:
    if w is None:
        return None
    w = {"mode": w} if isinstance(w, str) else w
    return WorkspaceSpec(source=w.get("from"), mode=w.get("mode"), base=w.get("base"),
                         require_change=w.get("requireChange", False))


def _verify(v: Any) -> Verify | None:
    if v is None:
        return None
    v = {"run": v} if isinstance(v, str) else v
    return Verify(run=v["run"], timeout=optional_duration(v.get("timeout")),
                  env={k: str(x) for k, x in (v.get("env") or {}).items()})


def _land(v: Any) -> Land | None:
    if v is None:
        return None
    v = {"to": v} if isinstance(v, str) else v
    return Land(to=v["to"], branch=v.get("branch"), path=v.get("path"), message=v.get("message"),
                source=v.get("from"), change=v.get("change"))


def _approval(a: dict[str, Any] | None) -> Approval | None:
    if a is None:
        return None
    timeout = optional_duration(a.get("timeout"))
    return Approval(message=a.get("message", ""), timeout=3600.0 if timeout is None else timeout,
                    approvers=tuple(a.get("approvers") or ()))


_BACKOFF = Backoff()  # the defaults; models are frozen, so steps share them
_NO_RETRY = RetryPolicy(backoff=_BACKOFF, on=DEFAULT_RETRY_ON)
_NO_VALIDATION = Validation()
_NO_BUDGET = Budget()
_NO_INPUTS: Mapping[str, Any] = MappingProxyType({})  # `with` of a step that calls nothing (shared, read-only)


def _budget(b: dict[str, Any] | None) -> Budget:
    if not b:
        return _NO_BUDGET
    return Budget(cost=float(b["cost"]) if "cost" in b else None, tokens=b.get("tokens"),
                  time=optional_duration(b.get("time")))
