"""Pattern sources: what a ``uses:`` (or a command-line pattern argument) names, as a local file.

One entry point, :func:`resolve`. The kinds of source, by prefix (``KINDS``, one module each):

- ``./relative/path.yaml`` — relative to the calling file's folder (``local``);
- ``builtin:NAME`` — a pattern shipped with runner (``builtin``);
- ``pkg:DIST/NAME`` — a pattern shipped by an installed Python distribution (``pkg``);
- ``git+URL//path/in/repo.yaml@REF`` — a file of a git repository at a tag, branch or sha
  (``git``), fetched into the content-addressed cache (``cache``).

A relative source inside a fetched one (a git tree, a package's folder) is a file of that source
and must stay inside it. Every source kind but ``./`` is pinned by ``runner.lock`` (``lockfile``):
the :class:`~runner.sources.resolver.Resolver` that is active (``with session(resolver):``, set up
by the commands for the lock next to the pattern, see ``runner.sources.pins``) checks each file it
resolves against the lock, so every caller — composition, command-line pattern arguments,
``runner patterns show`` — gets the check by calling ``resolve(ref, base_dir)``. Without an
active resolver, sources resolve unchecked, and nothing imports git or hashing machinery unless a
source of that kind is named.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runner.sources.resolver import Resolver

#: prefix -> module with ``locate(ref, base_dir, pinned) -> (Origin, file)``; ``./`` is ``local``
KINDS = {
    "builtin:": "runner.sources.builtin",
    "pkg:": "runner.sources.pkg",
    "git+": "runner.sources.git",
}


@dataclass(frozen=True)
class Source:
    """A resolved source: ``ref`` as written, ``path`` the local file to read, ``commit`` the
    resolved git commit for git sources (else None), ``origin`` the pinned source the file
    belongs to (the ref of a builtin, package or git source; None for a plain local file)."""

    ref: str
    path: Path
    commit: str | None = None
    origin: str | None = None


@dataclass(frozen=True)
class Origin:
    """A source that brings files from outside the calling tree: ``key`` its ref (the lock's
    name for it), ``root`` the folder its files are in, and what pins it."""

    key: str
    root: Path
    commit: str | None = None  # git
    version: str | None = None  # distribution / runner version (informative)


def kind_of(ref: str) -> str | None:
    """The KINDS prefix of ``ref``, or None for a local path."""
    return next((prefix for prefix in KINDS if ref.startswith(prefix)), None)


def resolve(ref: str, base_dir: Path, *, resolver: Resolver | None = None) -> Source:
    """The local file ``ref`` names, resolved against ``base_dir`` (the calling file's folder),
    checked against the active lock (or ``resolver``'s).

    UsageError (exit 2) when it names nothing or differs from the lock; InfrastructureError
    (exit 3) when a git remote cannot be reached."""
    if resolver is None:
        resolver = _ACTIVE[-1] if _ACTIVE else None
    if resolver is None:
        from runner.sources.resolver import Resolver

        resolver = Resolver()
    return resolver.resolve(ref, base_dir)


_ACTIVE: list[Resolver] = []  # a plain list, not a ContextVar: worker threads see it too


@contextmanager
def session(resolver: Resolver | None) -> Iterator[Resolver | None]:
    """Make ``resolver`` the one :func:`resolve` uses inside the block (None: no change)."""
    if resolver is None:
        yield None
        return
    _ACTIVE.append(resolver)
    try:
        yield resolver
    finally:
        _ACTIVE.remove(resolver)


_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def public(text: str) -> str:
    """``text`` with the credentials of any URL in it (``https://user:token@host``) hidden."""
    return _USERINFO.sub("***@", text)
