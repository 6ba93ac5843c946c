"""git sources: ``git+URL//path/in/repo.yaml@REF``.

``URL`` is anything ``git fetch`` takes (``https://``, ``ssh://``, ``file://``, a local path; a
relative path is relative to the calling file's folder), ``path/in/repo.yaml`` the pattern file in
the repository, ``REF`` a tag, a branch or a full 40-hex commit sha. The tree of the resolved
commit is stored in the cache (``runner.sources.cache``) under ``git/<commit>``.

A full sha, or a commit pinned by ``runner.lock``, found in the cache is used without running git
at all. Anything else runs ``git fetch --depth 1 URL REF`` into a throw-away bare repository
(no prompt for credentials: ``GIT_TERMINAL_PROMPT=0``) and exports the commit's tree with
``git archive``. A ref that does not resolve, a repository that does not exist locally: exit 2; a
remote that cannot be reached: exit 3.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.errors import InfrastructureError, UsageError
from runner.sources.cache import lookup, store
from runner.sources.model import Origin, public

PREFIX = "git+"
_SHA = re.compile(r"^[0-9a-f]{40}$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
TIMEOUT = 300.0  # seconds one git command may take
_NOT_FOUND = ("couldn't find remote ref", "not our ref", "invalid refspec", "bad object")


@dataclass(frozen=True)
class GitRef:
    url: str  # as written
    path: str  # the file inside the repository
    rev: str  # tag, branch or full sha


def parse(ref: str) -> GitRef:
    """``git+URL//path@REF`` split into its parts; UsageError saying what is missing."""
    body = ref.removeprefix(PREFIX)
    rest, at, rev = body.rpartition("@")
    scheme = _SCHEME.match(rest)
    start = scheme.end() if scheme else 0
    cut = rest.find("//", start)
    shape = "git+URL//path/in/repo.yaml@REF"
    if not at or not rev or "//" in rev:
        raise UsageError(f"git source `{public(ref)}` names no ref: write {shape} (REF: a tag, branch or full sha)")
    if cut <= start:
        raise UsageError(f"git source `{public(ref)}` names no file in the repository: write {shape}")
    url, path = rest[:cut], rest[cut + 2:].strip("/")
    if not path or ".." in Path(path).parts:
        raise UsageError(f"git source `{public(ref)}`: `{path}` is not a path inside the repository")
    return GitRef(url, path, rev)


def locate(ref: str, base_dir: Path, pinned: str | None) -> tuple[Origin, str]:
    """The cached tree of ``ref`` (fetched if needed) and the file's path inside it.

    ``pinned``: the commit runner.lock records; used from the cache without running git."""
    g = parse(ref)
    for commit in (pinned, g.rev if _SHA.match(g.rev) else None):
        entry = lookup("git", commit) if commit else None
        if entry is not None:
            return Origin(ref, entry, commit=commit), g.path
    commit, entry = fetch(_absolute(g.url, base_dir), g.rev, ref)
    return Origin(ref, entry, commit=commit), g.path


def _absolute(url: str, base_dir: Path) -> str:
    if _SCHEME.match(url) or ":" in url.split("/", 1)[0] or Path(url).is_absolute():
        return url  # a URL, scp-like `host:path`, or an absolute path
    return str((base_dir / url).resolve())


def fetch(url: str, rev: str, ref: str) -> tuple[str, Path]:
    """Fetch ``rev`` of ``url``: (its commit, the cache entry of its tree)."""
    with tempfile.TemporaryDirectory(prefix="runner-git-") as tmp:
        _git(["init", "-q", "--bare", tmp], ref, url)
        _git(["-C", tmp, "fetch", "-q", "--depth", "1", "--no-tags", url, rev], ref, url)
        commit = _git(["-C", tmp, "rev-parse", "FETCH_HEAD^{commit}"], ref, url).decode().strip()

        def export(staging: Path) -> None:
            data = _git(["-C", tmp, "archive", "--format=tar", commit], ref, url)
            with tarfile.open(fileobj=io.BytesIO(data)) as tar:
                problem = _extract(tar, staging)
            if problem:
                raise UsageError(f"git source `{public(ref)}`: commit {commit} is refused: {problem}")

        return commit, store("git", commit, export)


def _extract(tar: Any, staging: Path) -> str:
    """Extract the tree into ``staging``: no absolute paths, nothing outside it, no links out of
    it, no devices. The problem found ("" when none). Python < 3.11.4 has no tarfile filters:
    the same rules are checked here first."""
    if hasattr(tarfile, "data_filter"):
        try:
            tar.extractall(staging, filter="data")
        except tarfile.FilterError as exc:
            return str(exc)
        return ""
    for m in tar.getmembers():
        name = posixpath.normpath(m.name)
        target = posixpath.normpath(posixpath.join(posixpath.dirname(name), m.linkname)) if m.issym() else name
        if not (m.isfile() or m.isdir() or m.issym()):
            return f"{m.name!r} is not a file, a folder or a symbolic link"
        if any(p.startswith("/") or p == ".." or p.startswith("../") for p in (name, target)):
            return f"{m.name!r} {'links to' if m.issym() else 'is'} a path outside the tree"
    tar.extractall(staging)
    return ""


def _git(args: list[str], ref: str, url: str) -> bytes:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}
    try:
        done = subprocess.run(["git", *args], capture_output=True, env=env, timeout=TIMEOUT, check=False)
    except FileNotFoundError:
        raise UsageError(f"git source `{public(ref)}` is not in the cache and git is not installed") from None
    except subprocess.TimeoutExpired:
        raise InfrastructureError(f"git source `{public(ref)}`: git {args[2] if len(args) > 2 else args[0]} "
                                  f"took longer than {TIMEOUT:g}s") from None
    if done.returncode == 0:
        return done.stdout
    err = public(" ".join(done.stderr.decode(errors="replace").split()))
    if any(s in err for s in _NOT_FOUND):
        raise UsageError(f"git source `{public(ref)}`: ref does not resolve in {public(url)}: {err}")
    if _local(url):
        raise UsageError(f"git source `{public(ref)}`: no git repository at {url}: {err}")
    raise InfrastructureError(f"git source `{public(ref)}`: could not reach {public(url)}: {err}")


def _local(url: str) -> bool:
    return url.startswith("file://") or not (_SCHEME.match(url) or ":" in url.split("/", 1)[0])
