"""``runner test [PATH...]``: run the ``*.test.yaml`` files (scripted answers or a cassette; no
agent is started) and print pytest-like results (docs/testing.md)."""

from __future__ import annotations

import json
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import click

from runner import api
from runner.agents.model import AgentInfo
from runner.commands.common import load_pattern_arg, load_pool_arg
from runner.context import RunContext
from runner.errors import UsageError
from runner.observe.redact import from_pool
from runner.registries.static import static_agent_info
from runner.replay.cassette import load
from runner.replay.script import Script
from runner.spec.inputs import resolve_inputs
from runner.spec.testfile import load_test_file

_SKIP_DIRS = {".git", ".venv", "node_modules", ".runner", "__pycache__"}


@dataclass(frozen=True, kw_only=True)
class Outcome:
    file: str
    name: str
    problems: tuple[str, ...]
    seconds: float

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"


def find_tests(paths: Sequence[str]) -> list[Path]:
    """Every ``*.test.yaml`` named or under a named folder, sorted; none at all is a usage error."""
    found: list[Path] = []
    for arg in paths or ["."]:
        p = Path(arg)
        if p.is_file():
            found.append(p)
        elif p.is_dir():
            found += sorted(f for f in p.rglob("*.test.yaml") if not _SKIP_DIRS & set(f.relative_to(p).parts[:-1]))
        else:
            raise UsageError(f"no such test file or folder: {arg}")
    if not found:
        raise UsageError(f"no test files (*.test.yaml) under {', '.join(paths or ['.'])}")
    return found


def run_case(tf: Any, case: Any) -> list[str]:
    """Run one test; the expectations it failed (each: what, expected, actual)."""
    pattern = load_pattern_arg(tf.pattern)
    pool = load_pool_arg(tf.pool)
    if case.cassette is not None:
        source: Any = load(case.cassette)
    else:
        source = Script(tf.source, case.answers or {}, [static_agent_info(a) for a in pool.agents]
                        or scripted_agents(pattern))
    with tempfile.TemporaryDirectory(prefix="runner-test-") as state:
        given = Path(state, "inputs.json")  # typed values (lists, numbers) go in as an --input-file does
        given.write_text(json.dumps(case.inputs))
        values = resolve_inputs(pattern, {}, [given])
        ctx = RunContext(pattern_name=pattern.name, state_dir=Path(state), replay=source)
        outcome = api.apply(pattern, pool, values, ctx=ctx, redact=from_pool(pool, ctx.environ).redact)
    return compare(case.expect, outcome.result)


def scripted_agents(pattern: Any) -> list[Any]:
    """Agents for a test whose pool lists none (the default pool has templates only): as many as
    the most demanding step needs, each with every capability the pattern asks for, named
    ``scripted-1``, ``scripted-2``..."""
    caps = tuple(sorted({c for s in pattern.steps for c in s.agents.capabilities}))
    count = max([s.agents.min for s in pattern.steps] + [1])
    return [AgentInfo(id=f"scripted-{i}", name=f"scripted-{i}", type="scripted", capabilities=caps,
                      source="test") for i in range(1, count + 1)]


def compare(expect: Any, result: dict[str, Any]) -> list[str]:
    problems = []
    steps = {s["id"]: s for s in result["steps"]}
    for sid, want in expect.steps.items():
        got = steps.get(sid)
        if got is None:
            problems.append(f"step `{sid}`: expected status {want}, actual: the pattern has no such step")
        elif got["status"] != want:
            why = f" ({got['error']['message']})" if got.get("error") else ""
            problems.append(f"step `{sid}`: expected status {want}, actual {got['status']}{why}")
    for name, want in expect.outputs.items():
        got = result["outputs"].get(name)
        if got != want and str(got) != str(want):
            problems.append(f"output `{name}`: expected {want!r}, actual {got!r}")
    want_code = 0 if expect.exit_code is None else expect.exit_code
    if result["exitCode"] != want_code:
        error = result.get("error") or {}
        failed = [f"step `{s['id']}`: {s['error']['message']}" for s in result["steps"] if s.get("error")]
        why = "; ".join(failed) or error.get("message") or ""
        problems.append(f"exit code: expected {want_code}, actual {result['exitCode']}" + (f" ({why})" if why else ""))
    return problems


def test(paths: Sequence[str], junit: Path | None, out: TextIO) -> int:
    started = time.perf_counter()
    files = [load_test_file(p) for p in find_tests(paths)]  # a bad file: exit 2 before any test runs
    outcomes = []
    for tf in files:
        for case in tf.cases:
            t0 = time.perf_counter()
            problems = run_case(tf, case)
            outcomes.append(Outcome(file=tf.source, name=case.name, problems=tuple(problems),
                                    seconds=time.perf_counter() - t0))
            click.echo(f"{outcomes[-1].id} {'FAILED' if problems else 'PASSED'}", file=out)
    failed = [o for o in outcomes if o.problems]
    for o in failed:
        click.echo(f"\n___ {o.id} ___", file=out)
        for p in o.problems:
            click.echo(f"  {p}", file=out)
    seconds = time.perf_counter() - started
    click.echo(f"\n{len(outcomes) - len(failed)} passed, {len(failed)} failed in {seconds:.2f}s", file=out)
    if junit is not None:
        _write_junit(junit, outcomes, seconds)
    return 1 if failed else 0


def _write_junit(path: Path, outcomes: list[Outcome], seconds: float) -> None:
    suite = ET.Element("testsuite", name="runner test", tests=str(len(outcomes)),
                       failures=str(sum(1 for o in outcomes if o.problems)), time=f"{seconds:.3f}")
    for o in outcomes:
        case = ET.SubElement(suite, "testcase", classname=o.file, name=o.name, time=f"{o.seconds:.3f}")
        if o.problems:
            ET.SubElement(case, "failure", message=o.problems[0]).text = "\n".join(o.problems)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        ET.ElementTree(suite).write(path, encoding="unicode", xml_declaration=True)
    except OSError as exc:
        raise UsageError(f"cannot write --junit {path}: {exc.strerror or exc}") from None


@click.command("test")
@click.argument("paths", nargs=-1)
@click.option("--junit", type=click.Path(path_type=Path, dir_okay=False), help="Write JUnit XML here.")
def command(paths: tuple[str, ...], junit: Path | None) -> int:
    """Run pattern tests: *.test.yaml files (or those under folders; default: here)."""
    return test(list(paths), junit, sys.stdout)
