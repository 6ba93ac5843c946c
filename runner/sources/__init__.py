"""Pattern sources: what a ``uses:`` (or a command-line pattern argument) names, as a local file.

One entry point, :func:`resolve`. The kinds of source, by prefix (``KINDS``, one module each;
what they share is in ``model``):

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

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from runner.sources.model import KINDS, Origin, Source, kind_of, public
from runner.sources.resolver import Resolver

__all__ = ["KINDS", "Origin", "Resolver", "Source", "kind_of", "public", "resolve", "session"]


def resolve(ref: str, base_dir: Path, *, resolver: Resolver | None = None) -> Source:
    """The local file ``ref`` names, resolved against ``base_dir`` (the calling file's folder),
    checked against the active lock (or ``resolver``'s).

    UsageError (exit 2) when it names nothing or differs from the lock; InfrastructureError
    (exit 3) when a git remote cannot be reached."""
    if resolver is None:
        resolver = _ACTIVE[-1] if _ACTIVE else None
    if resolver is None:
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
