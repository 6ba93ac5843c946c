"""The Resolver: resolves sources, remembers what each one brought, and checks it against a lock.

``Resolver(lock, frozen=..., upgrade=...)``: ``lock`` a :class:`~runner.sources.lockfile.Lock`
(or None); ``frozen`` also refuses a source (or a file of one) the lock does not list; ``upgrade``
names sources whose pins are ignored (``runner lock --upgrade``; ``ALL`` for every one). With a
lock, a git source's pinned commit is used (from the cache: no git process), a commit that moved
or a file whose sha256 differs is a UsageError naming the source and both hashes. ``used`` is
what was resolved, in the lock's shape, for ``runner lock`` to write.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.errors import UsageError
from runner.sources.model import KINDS, Origin, Source, kind_of, public

if TYPE_CHECKING:
    from runner.sources.lockfile import Entry, Lock

ALL = frozenset({"*"})  # upgrade every source


class Resolver:
    def __init__(self, lock: Lock | None = None, *, frozen: bool = False, record: bool = False,
                 upgrade: frozenset[str] = frozenset()) -> None:
        self.lock = lock
        self.frozen = frozen
        self.record = record or lock is not None or frozen  # hash files only when someone reads them
        self.upgrade = upgrade
        self.used: dict[str, Entry] = {}
        self._memo: dict[tuple[str, Path], Source] = {}
        self._origins: list[Origin] = []
        self.parsed: dict[Path, Any] = {}  # runner.sources.walk's YAML of each file, read once

    @property
    def lock_name(self) -> str:
        return str(self.lock.path) if self.lock is not None else "runner.lock"

    def resolve(self, ref: str, base_dir: Path) -> Source:
        """The file ``ref`` names from ``base_dir`` (memoised: each source is fetched once)."""
        key = (ref, base_dir)
        if key not in self._memo:
            try:
                self._memo[key] = self._resolve(ref, base_dir)
            except (OSError, ValueError) as exc:  # a name no file system takes (NUL, too long), a git argument
                why = getattr(exc, "strerror", None) or str(exc)
                raise UsageError(f"pattern source `{public(ref)}` cannot be read: {why}") from None
        return self._memo[key]

    def _resolve(self, ref: str, base_dir: Path) -> Source:
        prefix = kind_of(ref)
        if prefix is None:
            from runner.sources import local  # lazy: cold start (only a source named by a relative path)

            inside = self._origin_of(base_dir.resolve())
            path = local.locate(ref, base_dir, inside.root if inside else _cached_tree(base_dir.resolve()))
            return self._checked(ref, inside, path) if inside else Source(ref, path)
        entry = self._entry(ref)
        locate = importlib.import_module(KINDS[prefix]).locate
        origin, file = locate(ref, base_dir, entry.commit if entry is not None else None)
        origin = Origin(origin.key, origin.root.resolve(), origin.commit, origin.version)
        if entry is not None and entry.commit and origin.commit != entry.commit:
            raise UsageError(f"source `{public(ref)}` moved: {self.lock_name} pins commit {entry.commit}, the ref now "
                             f"resolves to {origin.commit} (`runner lock --upgrade {public(ref)}` moves the pin)")
        if origin not in self._origins:
            self._origins.append(origin)
        path = origin.root / file
        if not path.is_file():
            raise UsageError(f"source `{public(ref)}` has no file `{file}`")
        return self._checked(ref, origin, path)

    def _entry(self, key: str) -> Entry | None:
        if self.lock is None or self.upgrade is ALL or key in self.upgrade:
            return None
        return self.lock.sources.get(key)

    def _origin_of(self, folder: Path) -> Origin | None:
        return next((o for o in self._origins if folder.is_relative_to(o.root)), None)

    def _checked(self, ref: str, origin: Origin, path: Path) -> Source:
        source = Source(ref, path, origin.commit, origin.key)
        if not self.record:
            return source
        from runner.sources.lockfile import Entry, file_digest  # lazy: cold start (only with a lock file)

        name = path.relative_to(origin.root).as_posix()
        digest = file_digest(path)
        was = self.used.get(origin.key) or Entry(origin.commit, origin.version, {})
        self.used[origin.key] = Entry(was.commit, was.version, {**was.files, name: digest})
        entry = self._entry(origin.key)
        if entry is None:
            if self.frozen:
                raise UsageError(f"source `{public(origin.key)}` is not in {self.lock_name} (--frozen refuses it; "
                                 "`runner lock` adds it)")
            return source
        want = entry.files.get(name)
        if want is None and self.frozen:
            raise UsageError(f"source `{public(origin.key)}`: file `{name}` is not in {self.lock_name} "
                             "(--frozen refuses it; `runner lock` adds it)")
        if want is not None and want != digest:
            raise UsageError(f"source `{public(origin.key)}`: `{name}` changed: {self.lock_name} has {want}, "
                             f"the file now has {digest} (`runner lock --upgrade {public(origin.key)}` accepts it)")
        return source


def _cached_tree(folder: Path) -> Path | None:
    """The cached git tree ``folder`` is in, if any: a relative source inside one stays inside it
    even for a caller that resolved the git source with another resolver."""
    from runner.sources.cache import cache_root  # lazy: cold start (only git sources)

    trees = cache_root().resolve() / "git"
    if folder.is_relative_to(trees) and folder != trees:
        return trees / folder.relative_to(trees).parts[0]
    return None
