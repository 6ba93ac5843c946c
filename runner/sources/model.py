"""What the source kinds share: the prefixes (``KINDS``), a resolved ``Source`` and the
``Origin`` it came from; a leaf of ``runner.sources`` (every kind, the lock and the resolver import it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

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


_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def public(text: str) -> str:
    """``text`` with the credentials of any URL in it (``https://user:token@host``) hidden."""
    return _USERINFO.sub("***@", text)
