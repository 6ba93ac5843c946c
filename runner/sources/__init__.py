"""Pattern sources: what a ``uses:`` (or a command-line pattern argument) names, as a local file.

One entry point, :func:`resolve`: ``./relative/path.yaml`` (relative to the calling file's folder),
``builtin:NAME``; ``pkg:DIST/NAME`` and ``git+URL//path@REF`` plug in here, with the lockfile
check, so every caller (composition, ``runner lock``, ``patterns show``) reads sources one way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner.errors import UsageError
from runner.resources import BUILTIN_PREFIX, builtin_pattern


@dataclass(frozen=True)
class Source:
    """A resolved source: ``ref`` as written, ``path`` the local file to read, ``commit`` the
    resolved git commit for git sources (else None)."""

    ref: str
    path: Path
    commit: str | None = None


def resolve(ref: str, base_dir: Path) -> Source:
    """The local file ``ref`` names, resolved against ``base_dir`` (the calling file's folder).

    UsageError (exit 2) when it names nothing."""
    if ref.startswith(BUILTIN_PREFIX):
        return Source(ref, builtin_pattern(ref))
    path = (base_dir / ref).resolve()
    if not path.is_file():
        raise UsageError(f"pattern source `{ref}` not found (looked for {path})")
    return Source(ref, path)
