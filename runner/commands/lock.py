"""``runner lock [PATTERN...] [--upgrade [SOURCE]]``: pin every source a pattern tree reaches.

Writes ``runner.lock`` next to each pattern (``./runner.lock`` for a source ref such as
``git+URL//file.yaml@v1``): the resolved commit of each git source and the sha256 of every
file used (format: docs/library.md, "Pinning"). Without PATTERN, the patterns the lock in the
current directory lists are locked again. Pins already in the lock are kept — a git source is
used at its pinned commit — unless ``--upgrade`` names the source (alone: every source), which
resolves its ref again and moves the pin. Sources no pattern reaches any more are dropped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from runner.errors import EXIT_OK, SpecError, UsageError
from runner.sources import kind_of, session
from runner.sources.lockfile import read, write
from runner.sources.pins import LOCK_NAME as NAME
from runner.sources.pins import lock_path_for, pattern_file
from runner.sources.resolver import ALL, Resolver
from runner.sources.walk import walk

if TYPE_CHECKING:
    from runner.sources.lockfile import Lock

EVERY = "*"  # `--upgrade` without a SOURCE


def lock(patterns: Sequence[str], upgrade: Sequence[str], out: TextIO) -> int:
    if not patterns:
        here = Path(NAME)
        found = _existing(here, out) if here.is_file() else None
        listed = found.patterns if found is not None else ()
        if not listed:
            raise UsageError("name the pattern files to lock (`runner lock PATTERN...`); "
                             f"there is no {NAME} here listing any")
        patterns = list(listed)  # relative to this folder, or source refs
    groups: dict[Path, list[str]] = {}
    for arg in patterns:
        groups.setdefault(lock_path_for(arg), []).append(arg)
    for path, args in groups.items():
        _lock_one(path, args, upgrade, out)
    return EXIT_OK


def _existing(path: Path, out: TextIO) -> Lock | None:
    try:
        return read(path)
    except SpecError as exc:
        out.write(f"{exc.diagnostics[0].render()}: writing a new one\n")
        return None


def _lock_one(path: Path, args: list[str], upgrade: Sequence[str], out: TextIO) -> None:
    old = _existing(path, out) if path.is_file() else None
    names = [_relative(a, path.parent) for a in args]
    for listed in old.patterns if old is not None else ():
        if listed not in names and (kind_of(listed) or (path.parent / listed).is_file()):
            names.append(listed)  # keep locking the other patterns of this lock
    local = [u for u in upgrade if u != EVERY and not kind_of(u)]
    if local:  # only git, pkg: and builtin: sources are pinned; a pattern file here was swallowed
        raise UsageError(f"--upgrade {local[0]}: not a pinned source (git+URL//PATH@REF, pkg:DIST/NAME or "
                         f"builtin:NAME); to move every pin, put the patterns first: "
                         f"`runner lock PATTERN... --upgrade`")
    targets = ALL if EVERY in upgrade else frozenset(upgrade)
    resolver = Resolver(old, record=True, upgrade=targets)
    problems = []
    with session(resolver):
        for name in names:
            file = pattern_file(name if kind_of(name) else str(path.parent / name))
            if not file.is_file():
                raise UsageError(f"pattern file not found: {file}")
            problems += walk(file, resolver)
    if problems:
        raise SpecError(problems)
    unknown = sorted(set(targets) - {EVERY} - set(resolver.used))
    if unknown:
        raise UsageError(f"--upgrade {unknown[0]}: no pattern of {path} uses that source "
                         f"(its sources: {', '.join(sorted(resolver.used)) or 'none'})")
    write(path, names, resolver.used)
    for key, entry in sorted(resolver.used.items()):
        before = old.sources.get(key) if old is not None else None
        pin = entry.commit or entry.version or ""
        if before is None:
            what = "pinned"
        elif before.commit != entry.commit or dict(before.files) != dict(entry.files):
            what = f"moved from {before.commit or 'changed files'} to"
        else:
            what = "kept"
        out.write(f"{key}: {what} {pin} ({len(entry.files)} file{'s' if len(entry.files) != 1 else ''})\n")
    n = len(resolver.used)
    out.write(f"wrote {path}: {n} source{'s' if n != 1 else ''}\n")


def _relative(arg: str, folder: Path) -> str:
    if kind_of(arg):
        return arg
    return os.path.relpath(Path(arg).resolve(), folder.resolve())


@click.command("lock")
@click.argument("patterns", nargs=-1)
@click.option("--upgrade", "upgrade", multiple=True, is_flag=False, flag_value=EVERY, metavar="[SOURCE]",
              help="Move the pin of SOURCE (repeatable; alone: of every source) to what its ref names now.")
def command(patterns: tuple[str, ...], upgrade: tuple[str, ...]) -> int:
    """Pin every source PATTERN reaches (uses:, recursively) in runner.lock next to it.

    Records each git source's commit and the sha256 of every file used; apply, plan and validate
    then refuse a file that changed or a ref that moved (exit 2), and --frozen also any source the
    lock does not list.
    """
    return lock(list(patterns), list(upgrade), sys.stdout)
