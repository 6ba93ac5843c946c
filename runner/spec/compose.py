"""Composition: a step that says ``uses: SOURCE`` runs the called pattern as part of this run.

The loader inlines the callee (loaded, checked and flattened first, so nesting works to any
depth): the call ``review`` of a pattern with steps ``a`` and ``b`` becomes the steps::

    review      the call: renders `with` into the callee's inputs; at the end, its outputs
    review/a    the callee's steps, ids prefixed (``/`` is never part of a written id), with
    review/b    ``scope`` "review/": their templates read the callee's `inputs` and `steps`

so one plan, one journal and one result hold the whole tree. The call's ``agents``
(capabilities added, ``prefer`` first), ``timeout`` and ``retry`` go to each callee step that
does not say its own. Each call is checked against the callee here (typed interfaces, before
anything runs): unknown or missing inputs, literal values that do not fit, outputs read that
the callee does not have; a cycle of files (``a`` uses ``b`` uses ``a``) is an error naming the
chain. Every error points at the caller's ``file:line:col`` and names the callee's file.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from runner.errors import Diagnostic, InfrastructureError, SpecError, UsageError
from runner.nearmiss import suggest
from runner.sources import resolve
from runner.spec import load_file
from runner.spec.fields import outputs_read
from runner.spec.inputs import check_value, coerce
from runner.spec.models import AgentRequirement, Pattern, RetryPolicy, Step, owner
from runner.spec.templates import plain
from runner.spec.yamlload import mark_of

# the files being loaded, outermost first: a file met again is a cycle
_CHAIN: contextvars.ContextVar[tuple[tuple[Path, str], ...]] = contextvars.ContextVar("uses_chain", default=())
# (path, mtime, size) -> the loaded callee, for one top-level load: a file called from many
# places is read once, and each load resolves (and lock-checks) its sources afresh
_LOADED: contextvars.ContextVar[dict[tuple[Path, int, int], Pattern] | None] = contextvars.ContextVar(
    "uses_loaded", default=None)


def has_calls(steps: Any) -> bool:
    """Whether raw ``steps`` hold a call (cheap: a pattern without one is not flattened)."""
    return isinstance(steps, list) and any(isinstance(s, dict) and "uses" in s for s in steps)


def flatten(pattern: Pattern) -> Pattern:
    """``pattern`` with every call's callee inlined after the call (see the module docstring)."""
    if _LOADED.get() is None:  # the top of a tree: its callees are cached while it loads
        token = _LOADED.set({})
        try:
            return flatten(pattern)
        finally:
            _LOADED.reset(token)
    own = Path(pattern.source).resolve() if pattern.source != "<memory>" else None
    chain = _CHAIN.get()
    if own is not None and (not chain or chain[-1][0] != own):
        chain = (*chain, (own, _label(pattern.source, own)))
    base_dir = own.parent if own is not None else Path.cwd()
    steps: list[Step] = []
    calls: dict[str, Pattern] = {}
    problems: list[Diagnostic] = []
    for i, step in enumerate(pattern.steps):
        steps.append(step)
        if step.uses is None:
            continue
        try:
            callee = _load(step.uses, base_dir, chain)
        except _Unplaced as exc:  # placed here: the marks are built only when an error needs them
            problems.append(replace(_at(pattern, i, "uses"), message=str(exc)))
            continue
        except SpecError as exc:
            problems += exc.diagnostics
            continue
        except InfrastructureError as exc:  # a source's remote unreachable: still exit 3, placed at the `uses`
            raise InfrastructureError(_at(pattern, i, "uses").render() + exc.render()) from exc
        calls[step.id] = callee
        problems += check_call(pattern, i, step, callee)
        steps += [_inline(step, s) for s in callee.steps]
    problems += _check_outputs_read(pattern, calls)
    if problems:
        raise SpecError(sorted(problems, key=lambda d: (d.file != pattern.source, d.line, d.col)))
    return replace(pattern, steps=tuple(steps), calls=calls)


def _label(source: str, path: Path) -> str:
    """A short name of a file for messages: as given, else relative to the working directory."""
    if not os.path.isabs(source) or source.startswith("builtin:"):
        return source
    return short(str(path))


def short(path: str) -> str:
    """``path`` relative to the working directory when that is shorter."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if len(rel) < len(path) else path


def _at(pattern: Pattern, i: int, key: str) -> Diagnostic:
    """A Diagnostic (message to fill) at ``$.steps[i].KEY`` of ``pattern``."""
    path = f"$.steps[{i}].{key}"
    line, col = mark_of(pattern.marks, path)  # no copy: built on first need
    return Diagnostic(file=pattern.source, line=line, col=col, path=path, message="")


class _Unplaced(Exception):
    """A problem of a `uses` itself (its message), to be placed at the `uses`."""


def _load(ref: str, base_dir: Path, chain: tuple[tuple[Path, str], ...]) -> Pattern:
    """The callee ``ref`` names, loaded and flattened; _Unplaced when the `uses` names no pattern
    (SpecError from the callee's own file when that file is wrong)."""
    try:
        source = resolve(ref, base_dir)
        path = source.path.resolve()
    except UsageError as exc:
        raise _Unplaced(str(exc)) from None
    except (OSError, ValueError) as exc:  # a name no file system takes (NUL, too long)
        why = getattr(exc, "strerror", None) or str(exc)
        raise _Unplaced(f"pattern source `{ref}` cannot be read: {why}") from None
    label = ref if ref.startswith("builtin:") else _label(str(source.path), path)
    if any(p == path for p, _ in chain):
        top = chain[0][0].parent  # files named from the folder of the file the chain starts in
        loop = [*chain[[p for p, _ in chain].index(path):], (path, label)]
        names = [name if name.startswith("builtin:") else os.path.relpath(p, top) for p, name in loop]
        raise _Unplaced("cycle of `uses`: " + " -> ".join(names))
    try:
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None
    loaded = _LOADED.get()
    if key is not None and loaded is not None and key in loaded:
        return loaded[key]
    token = _CHAIN.set((*chain, (path, label)))
    try:
        spec = load_file(short(str(path)))  # messages name it as the user would
    finally:
        _CHAIN.reset(token)
    if not isinstance(spec, Pattern):
        raise _Unplaced(f"`{ref}` ({label}) is a pool file, not a pattern")
    if key is not None and loaded is not None:
        loaded[key] = spec
    return spec


def _inline(call: Step, s: Step) -> Step:
    """Callee step ``s`` as part of ``call``: id and scope prefixed, the call's settings given."""
    out = replace(s, id=f"{call.id}/{s.id}", scope=f"{call.id}/{s.scope}")
    if s.uses is not None:  # a nested call: its own steps (already inlined) take the settings
        return out
    req = s.agents
    agents = AgentRequirement(
        capabilities=tuple(dict.fromkeys((*req.capabilities, *call.agents.capabilities))),
        min=req.min, max=req.max, prefer=tuple(dict.fromkeys((*call.agents.prefer, *req.prefer))),
        min_confidence=req.min_confidence)
    return replace(out, agents=agents, timeout=s.timeout if s.timeout is not None else call.timeout,
                   retry=call.retry if s.retry == RetryPolicy() else s.retry)


# ---------------------------------------------------------------- interfaces


def check_call(pattern: Pattern, i: int, step: Step, callee: Pattern) -> list[Diagnostic]:
    """What call ``step`` (``$.steps[i]`` of ``pattern``) gives that ``callee`` does not take."""
    out: list[Diagnostic] = []
    specs = {s.name: s for s in callee.inputs}
    name_of = f"`{step.uses}` ({short(callee.source)})"
    for name, value in step.with_inputs.items():
        spec = specs.get(name)
        if spec is None:
            hint = suggest(name, specs) if specs else "it declares no inputs"
            out.append(replace(_at(pattern, i, f"with.{name}"), message=f"{name_of} has no input `{name}` ({hint})"))
            continue
        if isinstance(value, str) and not plain(value):
            continue  # a template: its value is checked when the call runs
        if isinstance(value, str) and spec.type != "string":
            try:
                value = coerce(value, spec.type)
            except ValueError as exc:
                out.append(replace(_at(pattern, i, f"with.{name}"), message=f"input `{name}` of {name_of}: {exc}"))
                continue
        message = check_value(value, type=spec.type, enum=spec.enum, min=spec.min, max=spec.max,
                              pattern=spec.pattern)
        if message:
            out.append(replace(_at(pattern, i, f"with.{name}"), message=f"input `{name}` of {name_of}: {message}"))
    for spec in callee.inputs:
        if spec.required and not spec.has_default and spec.name not in step.with_inputs:
            out.append(replace(_at(pattern, i, "uses"),
                               message=f"{name_of} needs the input `{spec.name}`: give it under `with`"))
    return out


def _templates(pattern: Pattern) -> Iterator[tuple[str, str, bool]]:
    """(path, source, is expression) of the templates a pattern's own steps and outputs hold."""
    for i, s in enumerate(pattern.steps):
        if s.task:
            yield f"$.steps[{i}].task", s.task, False
        if s.when:
            yield f"$.steps[{i}].when", s.when, True
        if s.for_each:
            yield f"$.steps[{i}].forEach", s.for_each, True
        for name, value in s.with_inputs.items():
            if isinstance(value, str):
                yield f"$.steps[{i}].with.{name}", value, False
    for name, src in pattern.outputs.items():
        yield f"$.outputs.{name}", src, False


def _check_outputs_read(pattern: Pattern, calls: Mapping[str, Pattern]) -> list[Diagnostic]:
    """Every ``steps.ID.outputs.NAME`` read of a NAME the callee of ``ID`` does not have."""
    out: list[Diagnostic] = []
    for path, src, is_expr in _templates(pattern):
        for sid, name in outputs_read(src, expression=is_expr):
            if sid not in pattern.step_index:
                continue  # an unknown step: reported by the file's own checks
            callee = calls.get(sid)
            if callee is None and pattern.step(sid).uses is None:
                message = f"step `{sid}` calls no pattern: it has no `outputs` (its answer is `steps.{sid}.output`)"
            elif callee is None or name in callee.outputs:
                continue
            else:
                hint = suggest(name, list(callee.outputs)) if callee.outputs else "it declares no outputs"
                message = f"`{pattern.step(sid).uses}` ({short(callee.source)}) has no output `{name}` ({hint})"
            line, col = mark_of(pattern.marks, path)
            out.append(Diagnostic(file=pattern.source, line=line, col=col, path=path, message=message))
    return out


# ---------------------------------------------------------------- where a step came from


def callee_of(pattern: Pattern, step_id: str) -> Pattern:
    """The pattern call ``step_id`` (at any depth) calls."""
    home, local, _ = owner(pattern, step_id)
    return home.calls[local]
