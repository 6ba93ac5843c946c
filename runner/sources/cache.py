"""The content-addressed cache of fetched pattern sources.

``$RUNNER_CACHE_DIR`` (default ``$XDG_CACHE_HOME/runner/patterns``, i.e. ``~/.cache/runner/patterns``)
holds one folder per fetched tree, named by its content address (a git source: ``git/<commit sha>``).
An entry is made in a staging folder beside it (``git/.tmp-<pid>-<random>``), made read-only, then
renamed into place in one ``rename``: a fetch killed half-way leaves only a staging folder, which
no lookup ever reads and the next store of that process's successors removes. Nothing writes to an
entry once it is stored.
"""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

_STAGING = ".tmp-"


def cache_root() -> Path:
    """Where fetched sources are kept (``RUNNER_CACHE_DIR`` overrides the default)."""
    explicit = os.environ.get("RUNNER_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "runner" / "patterns"


def lookup(kind: str, address: str) -> Path | None:
    """The stored entry ``kind/address``, or None (a staging folder is never an entry)."""
    path = cache_root() / kind / address
    return path if path.is_dir() else None


def store(kind: str, address: str, fill: Callable[[Path], None]) -> Path:
    """The entry ``kind/address``: made by ``fill(staging_dir)`` unless already stored.

    ``fill`` writes the tree; it is then made read-only and renamed into place atomically. If
    another process stored the same address meanwhile, its entry (the same content) wins."""
    found = lookup(kind, address)
    if found is not None:
        return found
    parent = cache_root() / kind
    parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(parent)
    staging = parent / f"{_STAGING}{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        fill(staging)
        _read_only(staging)
        try:
            staging.rename(parent / address)
        except OSError:  # stored by another process meanwhile: keep that one
            if lookup(kind, address) is None:
                raise
    finally:
        if staging.exists():
            remove(staging)
    return parent / address


def remove(path: Path) -> None:
    """Remove a (read-only) cache folder."""
    for folder, dirs, _files in os.walk(path):
        os.chmod(folder, 0o700)
        for d in dirs:
            p = os.path.join(folder, d)
            if not os.path.islink(p):
                os.chmod(p, 0o700)
    shutil.rmtree(path)


def _read_only(root: Path) -> None:
    for folder, dirs, files in os.walk(root, topdown=False):
        for name in files:
            p = os.path.join(folder, name)
            if not os.path.islink(p):
                os.chmod(p, stat.S_IMODE(os.lstat(p).st_mode) & 0o555)
        for name in dirs:
            p = os.path.join(folder, name)
            if not os.path.islink(p):
                os.chmod(p, 0o555)
    os.chmod(root, 0o555)


def _remove_orphans(parent: Path) -> None:
    """Staging folders of processes that died (killed mid-fetch) are removed."""
    for p in parent.glob(f"{_STAGING}*"):
        pid = p.name[len(_STAGING):].partition("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            try:
                remove(p)
            except OSError:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
