"""Local sources: ``./relative/path.yaml``, relative to the calling file's folder."""

from __future__ import annotations

from pathlib import Path

from runner.errors import UsageError


def locate(ref: str, base_dir: Path, root: Path | None) -> Path:
    """The file ``ref`` names. Inside a fetched source (``root``: its folder) it must stay inside."""
    path = (base_dir / ref).resolve()
    if root is not None and not path.is_relative_to(root):
        raise UsageError(f"pattern source `{ref}` points outside the source it is in ({root})")
    if path.is_dir():
        raise UsageError(f"pattern source `{ref}` is a directory, not a pattern file ({path})")
    if not path.is_file():
        raise UsageError(f"pattern source `{ref}` not found (looked for {path})")
    return path
