"""``runner patterns list [DIR]`` and ``runner patterns show SOURCE``: what patterns there are,
and what one needs (inputs, agents per step) and gives (outputs), before running it.

``list`` prints the built-in patterns, the patterns of installed packages (``pkg:DIST/NAME``, the
``runner.patterns`` entry points), then (with DIR) every pattern file under DIR — pool files
are left out, a file that does not load is listed with its first problem (exit 2). ``show``
takes a source (``builtin:NAME``, ``pkg:DIST/NAME``, ``git+URL//FILE@REF``) or a pattern file. Both print text, or JSON with ``--json``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, TextIO

import click

from runner.commands.common import load_pattern_arg
from runner.errors import EXIT_INVALID, EXIT_OK, SpecError, UsageError
from runner.resources import BUILTIN_PREFIX, builtin_pattern, builtin_patterns
from runner.sources.pins import pattern_file, pinned
from runner.sources.pkg import installed
from runner.spec import load_file, load_pattern, step_dependencies
from runner.spec.models import Pattern


def _load(source: str) -> Pattern:
    """A source (``builtin:NAME``, ``pkg:DIST/NAME``, ``git+URL//FILE@REF``) or a pattern file; a
    pool file or a file that is no pattern is an error."""
    path = pattern_file(source)
    if path.is_file():
        spec = load_file(path)
        if not isinstance(spec, Pattern):
            raise UsageError(f"{source} is a pool file, not a pattern")
        return spec
    if path.is_dir():
        raise UsageError(f"{source} is a directory, not a pattern (`runner patterns list {source}` lists it)")
    return load_pattern_arg(source)  # the "not found (did you mean `builtin:NAME`?)" error


def _row(source: str, pattern: Pattern) -> dict[str, Any]:
    return {"source": source, "name": pattern.name, "version": pattern.version,
            "description": " ".join(pattern.description.split())}


def _loaded(source: str, path: Path, load_file: Any) -> dict[str, Any]:
    """The row of one file: its description, its first problem, or ``{}`` for a pool file."""
    try:
        spec = load_file(path)
    except SpecError as exc:
        first = exc.diagnostics[0].render() if exc.diagnostics else str(exc)
        return {"source": source, "error": first}
    return _row(source, spec) if isinstance(spec, Pattern) else {}


def list_patterns(directory: Path | None, as_json: bool, out: TextIO) -> int:
    """The built-ins, the patterns of installed packages, then every pattern file under
    ``directory``; 2 when one of them is broken."""
    rows = [_row(BUILTIN_PREFIX + name, load_pattern(builtin_pattern(name))) for name in builtin_patterns()]
    for ref, path in installed():  # pkg:DIST/NAME of the `runner.patterns` entry points
        rows.append(_loaded(ref, path, load_file))
    if directory is not None:
        if not directory.is_dir():
            raise UsageError(f"not a directory: {directory}")
        # `*.test.yaml` files are tests of a pattern (`runner test`), not patterns
        for path in sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
                           and not p.name.endswith(".test.yaml")):
            row = _loaded(str(path), path, load_file)
            if row:
                rows.append(row)
    if as_json:
        out.write(json.dumps({"patterns": rows}, indent=2) + "\n")
    else:
        width = max(len(r["source"]) for r in rows)
        for r in rows:
            what = f"error: {r['error']}" if "error" in r else f"{r['version']:<8} {r['description']}"
            out.write(f"{r['source']:<{width}}  {what}\n")
    return EXIT_INVALID if any("error" in r for r in rows) else EXIT_OK


def describe(pattern: Pattern) -> dict[str, Any]:
    """What ``show --json`` prints: everything a caller needs to know to run the pattern."""
    return {
        "name": pattern.name, "version": pattern.version, "source": pattern.source,
        "description": " ".join(pattern.description.split()),
        "inputs": [{"name": i.name, "type": i.type, "required": i.required and not i.has_default,
                    **({"default": i.default} if i.has_default else {}),
                    **{k: v for k, v in (("enum", list(i.enum) if i.enum else None), ("min", i.min), ("max", i.max),
                                         ("pattern", i.pattern)) if v is not None},
                    "description": i.description} for i in pattern.inputs],
        "outputs": [{"name": name, "template": template} for name, template in pattern.outputs.items()],
        "steps": [{"id": s.id, "needs": list(step_dependencies(s)),
                   "agents": {"capabilities": list(s.agents.capabilities), "min": s.agents.min,
                              "max": s.agents.max if s.agents.max is not None else s.agents.min},
                   "aggregation": s.aggregation.type, "when": s.when, "forEach": s.for_each,
                   **({"uses": s.uses} if s.uses is not None else {})}  # a call: its steps follow as CALL/ID
                  for s in pattern.steps],
    }


def _input_line(i: dict[str, Any]) -> str:
    how = "required" if i["required"] else f"default {json.dumps(i['default'])}" if "default" in i else "optional"
    limits = "".join(f" {k} {json.dumps(i[k])}" for k in ("enum", "min", "max", "pattern") if k in i)
    return f"  {i['name']}: {i['type']}, {how}{limits}" + (f" — {i['description']}" if i["description"] else "")


def _step_line(s: dict[str, Any]) -> str:
    a = s["agents"]
    count = str(a["min"]) if a["min"] == a["max"] else f"{a['min']}-{a['max']}"
    caps = ", ".join(a["capabilities"]) or "any"
    line = f"  {s['id']}: {count} agent{'s' if a['max'] != 1 else ''} [{caps}], {s['aggregation']}"
    if "uses" in s:
        line = f"  {s['id']}: call {s['uses']}"
    line += f", after {', '.join(s['needs'])}" if s["needs"] else ""
    line += f", for each of {s['forEach']}" if s["forEach"] else ""
    return line + (f", when {' '.join(s['when'].split())}" if s["when"] else "")


def show(source: str, as_json: bool, out: TextIO) -> int:
    with pinned(source):  # checked against the runner.lock next to it, as apply would
        info = describe(_load(source))
    if as_json:
        out.write(json.dumps(info, indent=2, default=str) + "\n")
        return EXIT_OK
    lines = [f"{info['name']} {info['version']} ({source})", f"  {info['description']}" if info["description"] else "",
             "inputs:", *(map(_input_line, info["inputs"]) if info["inputs"] else ["  (none)"]),
             "outputs:", *([f"  {o['name']}: {' '.join(o['template'].split())}" for o in info["outputs"]]
                           or ["  (none)"]),
             "steps (agents needed, aggregation, dependencies):", *map(_step_line, info["steps"])]
    out.write("\n".join(line for line in lines if line) + "\n")
    return EXIT_OK


@click.group("patterns")
def patterns_group() -> None:
    """Discover patterns: the built-ins, and pattern files in a directory."""


@patterns_group.command("list")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_cli(directory: Path | None, as_json: bool) -> int:
    """List the built-in patterns, those of installed packages, and the pattern files under
    DIRECTORY: name, version, description."""
    return list_patterns(directory, as_json, sys.stdout)


@patterns_group.command("show")
@click.argument("source")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def show_cli(source: str, as_json: bool) -> int:
    """Show what SOURCE (a pattern file, builtin:NAME, pkg:DIST/NAME, git+URL//FILE@REF) needs and gives: inputs, outputs, agents, steps."""
    return show(source, as_json, sys.stdout)
