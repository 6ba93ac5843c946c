"""``runner validate FILE|DIR... [--pool POOL]``: check pattern and pool files without running them.

Prints every problem of every file (``file:line:col: $.path: message``), then one ``ok:`` line
per good file. Exit codes: 0 every file is valid; 2 at least one problem was found; 4 checking a
file hit a bug in runner (the other files are still checked and reported).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from runner.commands.common import frozen_option
from runner.errors import (
    EXIT_INTERNAL,
    EXIT_INVALID,
    EXIT_OK,
    Diagnostic,
    InfrastructureError,
    RunnerError,
    SpecError,
)
from runner.resources import builtin_hint
from runner.sources import kind_of, resolve, session
from runner.sources.pins import lock_path_for, resolver_for
from runner.spec import check_pair, load_file, load_pool
from runner.spec.models import Pattern
from runner.spec.testfile import TestFile, load_test_file

if TYPE_CHECKING:
    from runner.sources.resolver import Resolver


def _files(paths: Sequence[Path | str], skip: Path | None, problems: list[Diagnostic],
           locks: _Locks) -> Iterator[tuple[Path, str]]:
    """Each file to check, with the argument it came from (the lock of a source ref is ./runner.lock)."""
    seen = {skip.resolve()} if skip is not None else set()
    for arg in paths:
        arg = str(arg)
        if kind_of(arg):  # `builtin:vote`, `pkg:d/n`, `git+URL//f@REF` → the file
            found_file = _source_file(arg, problems, locks)
            if found_file is None:
                continue
            path = found_file
        else:
            path = Path(arg)
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
                yield file, (arg if kind_of(arg) else str(file))


def _source_file(ref: str, problems: list[Diagnostic], locks: _Locks) -> Path | None:
    """The file of a source argument, checked against ./runner.lock; None when that lock is
    corrupt (reported once into ``problems``). A source that does not resolve is an error, as in
    ``apply``."""
    resolver = locks.resolver(ref, problems)
    if isinstance(resolver, SpecError):
        return None
    return resolve(ref, Path.cwd(), resolver=resolver).path


class _Locks:
    """The resolver of each lock (``runner.lock`` next to each file), made once per folder."""

    def __init__(self, frozen: bool) -> None:
        self.frozen = frozen
        self._by_path: dict[Path, Resolver | SpecError | None] = {}

    def resolver(self, arg: str, problems: list[Diagnostic]) -> Resolver | SpecError | None:
        """The resolver of ``arg``'s lock (None: no lock, not frozen; a SpecError: a corrupt lock,
        reported once into ``problems``)."""
        where = lock_path_for(arg)
        if where not in self._by_path:
            try:
                self._by_path[where] = resolver_for(arg, self.frozen)
            except SpecError as exc:
                problems += exc.diagnostics
                self._by_path[where] = exc
        return self._by_path[where]


def _is_test_file(path: Path) -> bool:
    """``*.test.yaml``: tests of a pattern (``runner test``), checked against their own schema."""
    return path.name.endswith((".test.yaml", ".test.yml"))


def _describe(spec: object) -> str:
    if isinstance(spec, TestFile):
        n = len(spec.cases)
        return f"tests of {spec.pattern}, {n} test{'s' if n != 1 else ''}"
    if isinstance(spec, Pattern):
        n = len(spec.steps)
        return f"pattern {spec.name}, {n} step{'s' if n != 1 else ''}"
    n, t = len(spec.agents), len(spec.templates)  # type: ignore[attr-defined]
    return f"pool {spec.name}, {n} agent{'s' if n != 1 else ''}, {t} template{'s' if t != 1 else ''}"  # type: ignore[attr-defined]


def validate(paths: Sequence[Path | str], pool: Path | None, out: TextIO, frozen: bool = False) -> int:
    """Check every file (directories: every *.yaml / *.yml inside); 0 when all are valid, else 2.

    ``builtin:NAME`` names a built-in pattern (``pkg:``/``git+`` sources too). A pattern with a
    runner.lock beside it has every source it reaches checked against it (``frozen``: a source
    the lock does not pin is a problem too).
    With ``pool``, the pool is checked too, and every pattern is checked against it
    (capabilities no agent or template of the pool provides).
    """
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
    locks = _Locks(frozen)
    for path, arg in _files(paths, pool, problems, locks):
        resolver = locks.resolver(arg, problems)
        if isinstance(resolver, SpecError):
            continue  # its lock is corrupt (reported once)
        try:
            with session(resolver):
                spec = load_test_file(path) if _is_test_file(path) else load_file(path)
        except SpecError as exc:
            problems += exc.diagnostics
            continue
        except InfrastructureError:
            raise  # a source's remote could not be reached: exit 3, as in apply and plan
        except RunnerError as exc:  # a call that could not be made (e.g. a source refused): this file's problem
            problems.append(Diagnostic(file=str(path), line=0, col=0, path="$", message=exc.render()))
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
@click.argument("paths", nargs=-1, required=True)  # str: a Path would squash the `//` of git+URL//FILE
@click.option("--pool", type=click.Path(path_type=Path), default=None,
              help="Also check the pool, and every pattern against it.")
@frozen_option
def command(paths: tuple[str, ...], pool: Path | None, frozen: bool) -> int:
    """Check pattern and pool files (FILE, DIR or builtin:NAME...) without running anything.

    Prints every problem as FILE:LINE:COL: $.KEY.PATH: MESSAGE, then `ok:` per valid file.
    Exit status: 0 all files valid, 2 problems found.
    """
    return validate(list(paths), pool, sys.stdout, frozen)
