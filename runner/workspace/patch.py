"""Read a binary git patch: which files it touches, its line counts, and whether it is safe.

``parse(patch)`` returns one ``FileChange`` per ``diff --git`` section (renames and mode
changes included; ``binary`` for ``GIT binary patch`` sections, whose lines are not counted).
``check(changes, root)`` refuses what must never be written: a path that is absolute, climbs
out with ``..``, lies in ``.git`` (any component, case-insensitively), passes through a symlink
(one on disk in ``root`` or one the patch itself creates), or a new symlink whose target
leaves the workspace. git refuses most of these too; runner checks first so that the message
is clear and nothing is written at all.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path

from runner.errors import WorkspaceError

_SECTION = b"diff --git "
_HEADER = re.compile(rb'^diff --git (?:"((?:[^"\\]|\\.)*)"|(\S+)) (?:"((?:[^"\\]|\\.)*)"|(\S+))$')
_ESCAPES = {"a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
SYMLINK_MODE = "120000"
GITLINK_MODE = b"160000"


@dataclass(kw_only=True)
class FileChange:
    """One file of a patch. ``path`` is where it ends up (``old_path`` for a deletion)."""

    path: str
    old_path: str
    status: str = "modified"  # added | deleted | modified | renamed | copied
    mode: str | None = None  # the new mode when the patch sets one ("100755", "120000")
    insertions: int = 0
    deletions: int = 0
    binary: bool = False
    symlink_target: str | None = None  # a new or changed symlink: where it points
    submodule: bool = False  # a submodule's commit (a gitlink, mode 160000) is added, changed or removed

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "oldPath": self.old_path if self.old_path != self.path else None,
                "status": self.status, "insertions": self.insertions, "deletions": self.deletions,
                "binary": self.binary}


def unquote(raw: bytes) -> str:
    """A path as git prints it (C-quoted when it holds special bytes) -> text."""
    s = raw.decode("utf-8", errors="surrogateescape")
    if not s.startswith('"'):
        return s
    out, i, body = bytearray(), 0, s[1:-1]
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567":
                out.append(int(body[i + 1:i + 4], 8))
                i += 4
                continue
            out += _ESCAPES.get(nxt, nxt).encode()
            i += 2
            continue
        out += c.encode("utf-8", errors="surrogateescape")
        i += 1
    return out.decode("utf-8", errors="surrogateescape")


def _strip(path: str, prefix: str) -> str:
    return path[len(prefix):] if path.startswith(prefix) else path


def parse(patch: bytes) -> list[FileChange]:
    """The files of ``patch`` in order (see the module docstring).

    Each ``diff --git`` section is read up to its first hunk or binary patch; only text hunks
    are walked line by line (to count them): a binary section's base85 lines, most of a large
    patch, are never split or looked at.
    """
    files: list[FileChange] = []
    starts = [0] if patch.startswith(_SECTION) else []
    at = patch.find(b"\n" + _SECTION)  # bytes.find: a regex over a large binary patch costs seconds
    while at >= 0:
        starts.append(at + 1)
        at = patch.find(b"\n" + _SECTION, at + 1)
    for i, begin in enumerate(starts):
        end = starts[i + 1] if i + 1 < len(starts) else len(patch)
        files.append(_section(patch, begin, end))
    return files


def _section(patch: bytes, begin: int, end: int) -> FileChange:
    """One ``diff --git`` section ``patch[begin:end]``."""
    eol = patch.find(b"\n", begin, end)
    eol = end if eol < 0 else eol
    a, b = _header_paths(patch[begin:eol])
    cur = FileChange(path=_strip(b, "b/"), old_path=_strip(a, "a/"))
    pos = eol + 1
    while pos < end:
        nl = patch.find(b"\n", pos, end)
        nl = end if nl < 0 else nl
        line = patch[pos:nl]
        if line.startswith(b"@@"):
            _hunks(cur, patch[pos:end])
            break
        if line.startswith(b"GIT binary patch") or line.startswith(b"Binary files "):
            cur.binary = True
            break
        _meta(cur, line)
        pos = nl + 1
    return cur


def _hunks(cur: FileChange, body: bytes) -> None:
    """Count a text section's added and removed lines (``body`` starts at its first ``@@``)."""
    last_added = None
    for line in body.split(b"\n"):
        if line.startswith(b"+"):
            cur.insertions += 1
            last_added = line
        elif line.startswith(b"-"):
            cur.deletions += 1
    if cur.mode == SYMLINK_MODE and cur.status != "deleted" and last_added is not None:
        cur.symlink_target = last_added[1:].decode(errors="surrogateescape")


def _header_paths(line: bytes) -> tuple[str, str]:
    m = _HEADER.match(line)
    if m is not None:
        a = unquote(b'"' + m.group(1) + b'"' if m.group(1) is not None else m.group(2))
        b = unquote(b'"' + m.group(3) + b'"' if m.group(3) is not None else m.group(4))
        return a, b
    rest = line[len(b"diff --git "):]
    half = (len(rest) - 1) // 2  # unquoted paths with spaces: `a/P b/P` (renames say more below)
    old, new = rest[:half], rest[half + 1:]
    if len(rest) % 2 == 0 or old[2:] != new[2:]:
        raise WorkspaceError(f"unreadable patch header: {line[:200].decode(errors='replace')}")
    return unquote(old), unquote(new)


def _meta(cur: FileChange, line: bytes) -> None:
    if line.startswith((b"new file mode ", b"deleted file mode ", b"new mode ", b"old mode ", b"index ")) \
            and line.rstrip().endswith(b" " + GITLINK_MODE):
        cur.submodule = True
    for key, status in ((b"new file mode ", "added"), (b"deleted file mode ", "deleted")):
        if line.startswith(key):
            cur.status = status
            cur.mode = line[len(key):].decode().strip()
            if status == "deleted":
                cur.path = cur.old_path
    if line.startswith(b"new mode "):
        cur.mode = line[len(b"new mode "):].decode().strip()
    for key, status, attr in ((b"rename from ", "renamed", "old_path"), (b"rename to ", "renamed", "path"),
                              (b"copy from ", "copied", "old_path"), (b"copy to ", "copied", "path")):
        if line.startswith(key):
            cur.status = status
            setattr(cur, attr, unquote(line[len(key):]))
    if line.startswith(b"+++ ") and not line.startswith(b"+++ /dev/null"):
        # git ends the name with a tab when it holds a space (a real tab in a name is quoted: `\t`)
        cur.path = _strip(unquote(line[4:].removesuffix(b"\t")), "b/")


def stats(files: list[FileChange]) -> tuple[int, int]:
    """(insertions, deletions) over every text file."""
    return sum(f.insertions for f in files), sum(f.deletions for f in files)


def check(files: list[FileChange], root: Path) -> None:
    """Refuse a patch that would write outside ``root`` or into ``.git`` (module docstring)."""
    new_links = {f.path for f in files if f.mode == SYMLINK_MODE and f.status != "deleted"}
    for f in files:
        for path in dict.fromkeys((f.path, f.old_path)):
            _check_path(path, root, new_links)
        if f.symlink_target is not None:
            target = f.symlink_target
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(f.path), target))
            if target.startswith("/") or joined == ".." or joined.startswith("../"):
                raise WorkspaceError(f"refused: the change makes `{f.path}` a symlink to `{target}`, "
                                     "outside the workspace")


def _check_path(path: str, root: Path, new_links: set[str]) -> None:
    parts = path.split("/")
    if path.startswith("/") or not path or ".." in parts or "" in parts[:-1]:
        raise WorkspaceError(f"refused: the change writes `{path}`, outside the workspace")
    if any(p.casefold() == ".git" for p in parts):
        raise WorkspaceError(f"refused: the change writes `{path}`, inside .git")
    for i in range(1, len(parts)):
        parent = "/".join(parts[:i])
        if parent in new_links or (root / parent).is_symlink():
            raise WorkspaceError(f"refused: the change writes `{path}` through the symlink `{parent}`")
