"""Built-in sources: ``builtin:NAME``, a pattern shipped with runner (``runner.resources``)."""

from __future__ import annotations

from pathlib import Path

from runner import __version__
from runner.resources import builtin_pattern
from runner.sources.model import Origin


def locate(ref: str, base_dir: Path, pinned: str | None) -> tuple[Origin, str]:
    """The built-in patterns' folder and the file of ``ref`` in it (UsageError if unknown)."""
    path = builtin_pattern(ref)
    return Origin(ref, path.parent, version=__version__), path.name
