"""Walk a pattern tree: resolve every ``uses:`` of a pattern file, and of the files it reaches.

Reads only the ``steps[*].uses`` strings (with their marks) from each file's YAML — composing the
called patterns is the compiler's work (``runner.spec.compose``, which resolves through the same
active resolver when a pattern loads) — so ``runner lock`` can pin the whole tree, even one whose
files do not load yet.
A problem is a Diagnostic at the ``uses`` that leads to it (``file:line:col: $.steps[i].uses``);
an unreachable remote is an InfrastructureError (exit 3) with that location in front.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.errors import Diagnostic, InfrastructureError, RunnerError, SpecError
from runner.sources import resolve
from runner.sources.resolver import Resolver
from runner.spec.document import read_text
from runner.spec.yamlload import load_yaml


def walk(root: Path, resolver: Resolver) -> list[Diagnostic]:
    """Resolve every source reachable from the pattern file ``root``; the problems found."""
    problems: list[Diagnostic] = []
    seen: set[Path] = set()
    todo = [root]  # as named (the root's diagnostics say `main.yaml:4:11`, not an absolute path)
    while todo:
        file = todo.pop(0)
        if file.resolve() in seen:
            continue  # a cycle is the compiler's error to report (with its chain); here: once each
        seen.add(file.resolve())
        found, marks = uses_of(file, problems, resolver.parsed)
        for ref, where in found:
            try:
                source = resolve(ref, file.parent, resolver=resolver)
                problem = _not_a_pattern(source.path, resolver.parsed)
            except InfrastructureError as exc:
                line, col = marks.get(where, (0, 0))
                raise InfrastructureError(f"{file}:{line}:{col}: {where}: {exc.render()}") from exc
            except SpecError as exc:  # a lock that does not parse: its own file and line
                problems += exc.diagnostics
                continue
            except RunnerError as exc:
                problem = exc.render()
            if problem:  # (marks are built only now: loading without them is faster)
                line, col = marks.get(where, (0, 0))
                problems.append(Diagnostic(file=str(file), line=line, col=col, path=where, message=problem))
            else:
                todo.append(source.path)
    return problems


def uses_of(file: Path, problems: list[Diagnostic], parsed: dict[Path, Any] | None = None,
            ) -> tuple[list[tuple[str, str]], Mapping[str, tuple[int, int]]]:
    """``(ref, key path)`` of each ``steps[i].uses`` of ``file``, and the file's key marks
    (YAML problems go to ``problems``)."""
    try:
        if "uses" not in read_text(file):  # most files call nothing: no YAML parse for them
            return [], {}
    except SpecError as exc:
        problems += exc.diagnostics
        return [], {}
    doc = _parse(file, {} if parsed is None else parsed)
    if isinstance(doc, SpecError):
        problems += doc.diagnostics
        return [], {}
    steps = doc.data.get("steps") if isinstance(doc.data, dict) else None
    found = [(step["uses"], f"$.steps[{i}].uses") for i, step in enumerate(steps if isinstance(steps, list) else [])
             if isinstance(step, dict) and isinstance(step.get("uses"), str)]
    return found, doc.marks  # the key's place, as composition reports a call's problems


def _parse(path: Path, parsed: dict[Path, Any]) -> Any:
    """The YamlDoc of ``path`` (or the SpecError it gave), parsed once per resolver."""
    key = path.resolve()
    if key not in parsed:
        try:
            parsed[key] = load_yaml(read_text(path), str(path))
        except SpecError as exc:
            parsed[key] = exc
    return parsed[key]


def _not_a_pattern(path: Path, parsed: dict[Path, Any]) -> str:
    """Why ``path`` cannot be called as a pattern ("" when it can)."""
    doc = _parse(path, parsed)
    if isinstance(doc, SpecError):
        return f"`{path}` does not load: {doc.diagnostics[0].render()}"
    data = doc.data
    if isinstance(data, dict) and data.get("kind", "pattern") == "pattern" and isinstance(data.get("steps"), list):
        return ""
    what = "a pool file" if isinstance(data, dict) and ("agents" in data or data.get("kind") == "pool") else "no pattern"
    return f"`{path}` is {what}, not a pattern (a pattern has `steps`)"
