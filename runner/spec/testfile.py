"""Load ``*.test.yaml`` files (tests of a pattern, run by ``runner test``; docs/testing.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.spec.document import load_checked, read_text
from runner.spec.yamlload import Mark


@dataclass(frozen=True, kw_only=True)
class Expect:
    exit_code: int | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class TestCase:
    name: str
    line: int
    inputs: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, Any] | None = None  # step id -> {answer, ...} or {agent id -> {answer, ...}}
    cassette: Path | None = None
    expect: Expect = field(default_factory=Expect)


@dataclass(frozen=True, kw_only=True)
class TestFile:
    source: str
    pattern: str  # a path (resolved against the test file's folder) or builtin:NAME
    pool: str | None
    cases: tuple[TestCase, ...]


def _check(data: Any, rep: Any) -> None:
    return None  # the schema says it all


def _near(base: Path, ref: str) -> str:
    return ref if ref.startswith("builtin:") else str(base / ref)


def load_test_file(path: str | Path) -> TestFile:
    """Read and check a test file; SpecError (``file:line:col: $.path: message``) when it is wrong."""
    source = str(path)
    doc = load_checked(read_text(path), source, "test", _check)
    d, marks = doc.data, doc.marks
    base = Path(path).parent

    def line(key: str) -> int:
        mark: Mark | tuple[int, int] | None = marks.get(key)
        return mark[0] if mark else 0

    cases = []
    for i, c in enumerate(d["tests"]):
        e = c.get("expect") or {}
        cases.append(TestCase(
            name=c["name"], line=line(f"$.tests[{i}]"), inputs=dict(c.get("inputs") or {}),
            answers=c.get("answers"), cassette=base / c["cassette"] if c.get("cassette") else None,
            expect=Expect(exit_code=e.get("exitCode"), outputs=dict(e.get("outputs") or {}),
                          steps=dict(e.get("steps") or {}))))
    return TestFile(source=source, pattern=_near(base, d["pattern"]),
                    pool=_near(base, d["pool"]) if d.get("pool") else None, cases=tuple(cases))
