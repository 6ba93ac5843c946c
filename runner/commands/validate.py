"""``runner validate FILE|DIR... [--pool POOL]``: check pattern and pool files without running them.

Prints every problem of every file (``file:line:col: $.path: message``), then one ``ok:`` line
per good file. Exit codes: 0 every file is valid; 2 at least one problem was found; 4 checking a
file hit a bug in runner (the other files are still checked and reported).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

import click

from runner.errors import EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, Diagnostic


def _files(paths: Sequence[Path], skip: Path | None, problems: list[Diagnostic]) -> Iterator[Path]:
    from runner.resources import builtin_hint, resolve_pattern_path

    seen = {skip.resolve()} if skip is not None else set()
    for path in paths:
        path = resolve_pattern_path(str(path))  # `builtin:vote` → the shipped file
        if not path.exists() and builtin_hint(str(path)):
            problems.append(Diagnostic(file=str(path), line=0, col=0, path="$",
                                       message="no such file" + builtin_hint(str(path))))
            continue
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
            if not found:  # checking nothing must not pass as "all valid"
                problems.append(Diagnostic(file=str(path), line=0, col=0, path="$",
                                           message="no pattern or pool file (*.yaml, *.yml) in this directory"))
        else:
            found = [path]
        for file in found:  # each file once, the --pool file not again
            if file.resolve() not in seen:
                seen.add(file.resolve())
                yield file


def _is_test_file(path: Path) -> bool:
    """``*.test.yaml``: tests of a pattern (``runner test``), checked against their own schema."""
    return path.name.endswith((".test.yaml", ".test.yml"))


def _describe(spec: object) -> str:
    from runner.spec.models import Pattern
    from runner.spec.testfile import TestFile

    if isinstance(spec, TestFile):
        n = len(spec.cases)
        return f"tests of {spec.pattern}, {n} test{'s' if n != 1 else ''}"
    if isinstance(spec, Pattern):
        n = len(spec.steps)
        return f"pattern {spec.name}, {n} step{'s' if n != 1 else ''}"
    n, t = len(spec.agents), len(spec.templates)  # type: ignore[attr-defined]
    return f"pool {spec.name}, {n} agent{'s' if n != 1 else ''}, {t} template{'s' if t != 1 else ''}"  # type: ignore[attr-defined]


def validate(paths: Sequence[Path], pool: Path | None, out: TextIO) -> int:
    """Check every file (directories: every *.yaml / *.yml inside); 0 when all are valid, else 2.

    ``builtin:NAME`` names a built-in pattern.
    With ``pool``, the pool is checked too, and every pattern is checked against it
    (capabilities no agent or template of the pool provides).
    """
    from runner.errors import SpecError
    from runner.spec import check_pair, load_file, load_pool
    from runner.spec.models import Pattern
    from runner.spec.testfile import load_test_file

    problems: list[Diagnostic] = []
    bugs: list[str] = []  # files whose check raised something unexpected
    good: list[tuple[Path, object]] = []
    the_pool = None
    if pool is not None:
        try:
            the_pool = load_pool(pool)
            good.append((pool, the_pool))
        except SpecError as exc:
            problems += exc.diagnostics
    for path in _files(paths, pool, problems):
        try:
            spec = load_test_file(path) if _is_test_file(path) else load_file(path)
        except SpecError as exc:
            problems += exc.diagnostics
            continue
        except Exception as exc:  # noqa: BLE001 - a bug must not hide the other files' results
            bugs.append(f"{path}: internal error (a bug in runner, please report it): {type(exc).__name__}: {exc}")
            continue
        pair = check_pair(spec, the_pool) if isinstance(spec, Pattern) and the_pool is not None else []
        if pair:
            problems += pair
        else:
            good.append((path, spec))
    for d in problems:
        print(d.render(), file=out)
    for line in bugs:
        print(line, file=out)
    for path, described in good:
        print(f"ok: {path} ({_describe(described)})", file=out)
    if problems:
        n, files = len(problems), len({d.file for d in problems})
        print(f"{n} error{'s' if n != 1 else ''} in {files} file{'s' if files != 1 else ''}", file=out)
    return EXIT_INTERNAL if bugs else EXIT_INVALID if problems else EXIT_OK


@click.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--pool", type=click.Path(path_type=Path), default=None,
              help="Also check the pool, and every pattern against it.")
def command(paths: tuple[Path, ...], pool: Path | None) -> int:
    """Check pattern and pool files (FILE, DIR or builtin:NAME...) without running anything.

    Prints every problem as FILE:LINE:COL: $.KEY.PATH: MESSAGE, then `ok:` per valid file.
    Exit status: 0 all files valid, 2 problems found.
    """
    return validate(list(paths), pool, sys.stdout)
