"""``runner.lock``: the pins of every source a pattern tree reaches (format: docs/library.md).

JSON, written with sorted keys so that a diff shows what moved::

    {
      "lockVersion": 1,
      "patterns": ["main.yaml"],
      "sources": {
        "git+https://example.com/lib.git//review.yaml@v1": {
          "commit": "<40 hex>",
          "files": {"review.yaml": "sha256:<64 hex>", "parts/helper.yaml": "sha256:<64 hex>"}
        },
        "pkg:acme-patterns/review": {"version": "1.2.0", "files": {"review.yaml": "sha256:..."}}
      }
    }

A corrupt lock is a SpecError (exit 2) pointing at its line or key, never a traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.errors import Diagnostic, SpecError

VERSION = 1
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class Entry:
    """One pinned source: its git ``commit`` (or None), the ``version`` it came as, the sha256 of
    each of its files used, by path inside the source."""

    commit: str | None
    version: str | None
    files: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Lock:
    path: Path
    patterns: tuple[str, ...]
    sources: Mapping[str, Entry]


def file_digest(path: Path) -> str:
    with path.open("rb") as fh:
        return "sha256:" + hashlib.file_digest(fh, "sha256").hexdigest()


def read(path: Path) -> Lock:
    """The lock at ``path``; SpecError naming the line or key when it is not a valid lock."""
    def bad(where: str, message: str, line: int = 0, col: int = 0) -> SpecError:
        return SpecError([Diagnostic(file=str(path), line=line, col=col, path=where,
                                     message=f"corrupt lock file: {message} (`runner lock` rewrites it)")])

    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except json.JSONDecodeError as exc:
        raise bad("$", f"not JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except UnicodeDecodeError:
        raise bad("$", "not UTF-8 text") from None
    except OSError as exc:
        raise bad("$", f"cannot be read: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise bad("$", "expected an object")
    if data.get("lockVersion") != VERSION:
        raise bad("$.lockVersion", f"expected {VERSION}, found {json.dumps(data.get('lockVersion'))}")
    patterns = data.get("patterns", [])
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise bad("$.patterns", "expected a list of file names")
    sources = data.get("sources")
    if not isinstance(sources, dict):
        raise bad("$.sources", "expected an object of sources")
    entries = {}
    for key, value in sources.items():
        where = f'$.sources["{key}"]'
        entries[key] = _entry(value, where, bad)
    return Lock(path, tuple(patterns), entries)


def _entry(value: Any, where: str, bad: Any) -> Entry:
    if not isinstance(value, dict) or set(value) - {"commit", "version", "files"}:
        raise bad(where, "expected an object of commit, version, files")
    commit, version, files = value.get("commit"), value.get("version"), value.get("files")
    if commit is not None and not (isinstance(commit, str) and _COMMIT.match(commit)):
        raise bad(f"{where}.commit", "expected a 40-hex git commit")
    if version is not None and not isinstance(version, str):
        raise bad(f"{where}.version", "expected a string")
    if not isinstance(files, dict) or not files:
        raise bad(f"{where}.files", "expected an object of file: sha256")
    for name, digest in files.items():
        if not (isinstance(digest, str) and _DIGEST.match(digest)):
            raise bad(f'{where}.files["{name}"]', "expected `sha256:` and 64 hex digits")
    return Entry(commit, version, dict(files))


def render(patterns: list[str], sources: Mapping[str, Entry]) -> str:
    body: dict[str, Any] = {"lockVersion": VERSION, "patterns": sorted(set(patterns)), "sources": {}}
    for key, entry in sorted(sources.items()):
        item: dict[str, Any] = {}
        if entry.commit:
            item["commit"] = entry.commit
        if entry.version:
            item["version"] = entry.version
        item["files"] = dict(sorted(entry.files.items()))
        body["sources"][key] = item
    return json.dumps(body, indent=2) + "\n"


def write(path: Path, patterns: list[str], sources: Mapping[str, Entry]) -> None:
    """Write the lock atomically (a reader sees the old lock or the new one, never half of one)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(render(patterns, sources), encoding="utf-8")
    os.replace(tmp, path)
