"""How the commands use ``runner.lock``: find it next to the pattern, and make the resolver that
checks it active for the whole command (``pinned``): loading the pattern resolves every source
of its tree through it.

No lock and no ``--frozen``: nothing happens (no lock parsing, no hashing).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runner.sources import kind_of, resolve, session
from runner.sources.resolver import Resolver

LOCK_NAME = "runner.lock"


def lock_path_for(pattern_arg: str) -> Path:
    """The lock of a command-line pattern: next to the file; ``./runner.lock`` for a source ref."""
    return Path(LOCK_NAME) if kind_of(pattern_arg) else Path(pattern_arg).parent / LOCK_NAME


def resolver_for(pattern_arg: str, frozen: bool = False) -> Resolver | None:
    """A resolver checking the lock of ``pattern_arg`` (see ``lock_path_for``), or None when
    there is no lock and ``frozen`` is off."""
    path = lock_path_for(pattern_arg)
    if not path.is_file():
        return Resolver(None, frozen=True) if frozen else None
    from runner.sources.lockfile import read  # lazy: cold start (only with a lock file)

    return Resolver(read(path), frozen=frozen)


def pattern_file(arg: str) -> Path:
    """A command-line pattern argument as a local file: a source ref is resolved (and checked)."""
    return resolve(arg, Path.cwd()).path if kind_of(arg) else Path(arg)


@contextmanager
def pinned(pattern_arg: str, frozen: bool = False) -> Iterator[Resolver | None]:
    """Inside: ``resolve`` checks against the lock of ``pattern_arg`` (or refuses unpinned
    sources with ``frozen``). Composition resolves every ``uses`` of the tree through it while the
    pattern loads, so every source is checked before anything runs."""
    resolver = resolver_for(pattern_arg, frozen)
    with session(resolver):
        yield resolver
