"""A workspace sent to a remote agent and its change brought back (docs/workspaces.md, "Remote agents").

The caller ``pack``\\ s the attempt's checkout as it was made — the base commit's tree, read from
git's objects, so the archive is exactly the base (no ``export-ignore``, no smudge filters) — as a
gzip-compressed tar of regular files, executables and symlinks (submodules are left out). The
agent server ``unpack``\\ s it into a temporary repository after checking every entry: a path
that is absolute, climbs out with ``..``, has a ``.`` component, lies in ``.git``, passes through
a symlink, or a symlink pointing outside the directory, a hard link, a device or FIFO, a path given
twice or as both file and directory, more bytes than the cap: refused with a clear error before
anything is written. The entries become the repository's first commit (``git fast-import``, then
``git read-tree -u``: its tree is the caller's base tree, hash for hash); the server runs the
agent there and returns ``git diff --binary`` of what changed; the caller checks that
patch as ``land`` does (``runner.workspace.patch.check``) and applies it to the attempt's
checkout, where it is captured, verified and landed like a local agent's change.

``LIMIT`` (64 MiB) caps the unpacked files and the patch; the archive itself may be at most
``LIMIT`` plus one MiB. ``runner agent serve --max-workspace SIZE`` sets the server's cap (it
reports it in ``/health``), ``RUNNER_WORKSPACE_TRANSFER_MAX`` the caller's.
"""

from __future__ import annotations

import gzip
import io
import os
import posixpath
import tarfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from runner.errors import WorkspaceError
from runner.workspace.git import attempt, git, text
from runner.workspace.patch import check, parse
from runner.workspace.scratch import scratch

LIMIT = 64 << 20
OVERHEAD = 1 << 20  # tar headers and gzip framing beyond the files' own bytes
LIMIT_ENV = "RUNNER_WORKSPACE_TRANSFER_MAX"
FORMAT = "tar+gzip"


class TransferError(WorkspaceError):
    """An archive or a patch that must not be used (too large, unreadable, hostile)."""


@dataclass(frozen=True, kw_only=True)
class Archive:
    """A workspace as sent: ``data`` (a tar.gz of the base tree), ``cwd`` where the agent starts."""

    data: bytes
    cwd: str = ""  # relative to the archive's root, "" for the root


def mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def message_limit(limit: int) -> int:
    """Bytes of one protocol message that carries a workspace of ``limit`` bytes (gRPC: raw;
    HTTP: base64 in JSON, a third more), with room for the rest of the message."""
    return (limit + OVERHEAD) * 4 // 3 + (1 << 20)


def limit_from_env(environ: dict[str, str] | os._Environ[str] = os.environ) -> int:
    """The caller's cap: ``RUNNER_WORKSPACE_TRANSFER_MAX`` (bytes, or with K/M/G) or ``LIMIT``."""
    raw = environ.get(LIMIT_ENV, "").strip()
    return parse_size(raw, LIMIT_ENV) if raw else LIMIT


def parse_size(raw: str, what: str) -> int:
    """``123``, ``64M``, ``1G`` (binary units) -> bytes; ValueError naming ``what`` otherwise."""
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    body, unit = (raw[:-1], raw[-1].upper()) if raw and raw[-1].upper() in units else (raw, "")
    try:
        value = int(body.strip()) if body.strip() else -1
    except ValueError:
        value = -1
    if value <= 0:
        raise ValueError(f"{what}: expected a size like 64M or 1048576, got `{raw}`")
    return value * units[unit]


# ---------------------------------------------------------------- caller side


def pack(root: Path, cwd: Path, limit: int = LIMIT) -> Archive:
    """The checkout at ``root`` as its ``HEAD`` (the attempt's base) records it."""
    entries = git(["ls-tree", "-r", "-z", "--full-tree", "HEAD"], root).split(b"\0")
    wanted: list[tuple[str, str, str]] = []  # (mode, sha, path)
    for entry in filter(None, entries):
        meta, _, raw_path = entry.partition(b"\t")
        mode, kind, sha = meta.decode().split()
        if kind == "blob":  # a "commit" is a submodule: not sent (docs: limits)
            wanted.append((mode, sha, raw_path.decode("utf-8", "surrogateescape")))
    blobs = _blobs(root, [sha for _, sha, _ in wanted])
    total = sum(len(b) for b in blobs.values())
    if total > limit:
        raise TransferError(f"the workspace holds {mib(total)} of files, over the transfer cap of {mib(limit)}")
    buf = io.BytesIO()  # the tar whole, then compressed at once: 30,000 small gzip writes cost more
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8",
                      errors="surrogateescape") as tar:
        for mode, sha, path in wanted:
            info = tarfile.TarInfo(path)
            data = blobs[sha]
            if mode == "120000":
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, data.decode("utf-8", "surrogateescape"), 0o777
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o755 if mode == "100755" else 0o644
                tar.addfile(info, io.BytesIO(data))
    rel = os.path.relpath(cwd, root)
    return Archive(data=gzip.compress(buf.getbuffer(), compresslevel=6, mtime=0), cwd="" if rel == "." else Path(rel).as_posix())


def _blobs(root: Path, shas: list[str]) -> dict[str, bytes]:
    """Contents of ``shas`` with one ``git cat-file --batch``."""
    unique = list(dict.fromkeys(shas))
    if not unique:
        return {}
    out = git(["cat-file", "--batch"], root, input=("\n".join(unique) + "\n").encode())
    blobs: dict[str, bytes] = {}
    pos = 0
    for sha in unique:
        nl = out.index(b"\n", pos)
        _, _, size = out[pos:nl].decode().split()
        start = nl + 1
        blobs[sha] = out[start:start + int(size)]
        pos = start + int(size) + 1
    return blobs


def apply(root: Path, patch: bytes) -> None:
    """Make a remote agent's change in the checkout at ``root`` (checked first; all or nothing).

    ``TransferError`` starting with ``refused:`` for a hostile patch; else one that says git
    could not apply it."""
    if not patch.strip():
        return
    try:
        files = parse(patch)
    except WorkspaceError as exc:
        raise TransferError(f"unreadable change: {exc}") from exc
    try:
        check(files, root)
    except WorkspaceError as exc:
        raise TransferError(str(exc)) from exc

    ok, said = attempt(["apply", "--binary", "--whitespace=nowarn", "-"], root, input=patch)
    if not ok:
        raise TransferError(f"the change does not apply to the workspace: {said or 'git apply failed'}")


# ---------------------------------------------------------------- server side


@contextmanager
def received(archive: Archive, limit: int = LIMIT) -> Iterator[tuple[Path, Path, str]]:
    """A temporary checkout of ``archive``: (its root, where the agent starts, the base commit).

    Removed when the block ends, whatever happened."""
    with scratch() as root:  # labelled with this server: swept if it dies (runner.workspace.scratch)
        git(["init", "--quiet"], root)
        base = unpack(archive.data, root, limit)
        cwd = _cwd(root, archive.cwd)
        yield root, cwd, base


def _cwd(root: Path, rel: str) -> Path:
    parts = rel.split("/") if rel else []
    if rel.startswith("/") or ".." in parts or any(p.casefold() == ".git" for p in parts):
        raise TransferError(f"refused: the workspace's directory `{rel}` is outside it")
    cwd = root.joinpath(*parts)
    if any(root.joinpath(*parts[:i]).is_symlink() for i in range(1, len(parts) + 1)):
        raise TransferError(f"refused: the workspace's directory `{rel}` is a symlink")
    try:
        cwd.mkdir(parents=True, exist_ok=True)  # a subdirectory with no files (git keeps none)
    except OSError as exc:
        raise TransferError(f"the workspace's directory `{rel}` is not a directory in it") from exc
    return cwd


def unpack(data: bytes, root: Path, limit: int = LIMIT) -> str:
    """Check every entry of the tar.gz ``data`` (module docstring), then make it the first commit
    of the (new, empty) repository at ``root`` and check it out; returns that commit.

    Not ``tar.extractall`` + ``git add``: ``git fast-import`` writes the blobs as one pack and
    ``git read-tree -u`` the files (as ``git worktree add`` does), where ``add`` wrote one loose
    object per file — a 10,000-file workspace took 15-25 s here, ten times a worktree."""
    if len(data) > limit + OVERHEAD:
        raise TransferError(f"the workspace archive is {mib(len(data))}, over the transfer cap of {mib(limit)}")
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            members = tar.getmembers()
            _check(members, limit)
            stream = _import_stream(tar, members)
    except TransferError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise TransferError(f"the workspace archive is not a readable {FORMAT}: {exc}") from exc
    try:
        git(["fast-import", "--quiet", "--done"], root, input=stream)
        git(["symbolic-ref", "HEAD", RECEIVED_REF], root)
        git(["read-tree", "--reset", "-u", "HEAD"], root)  # git's own path checks too (.git, ...)
    except WorkspaceError as exc:  # a path git will not write: the archive's fault
        raise TransferError(f"the workspace archive cannot be checked out: {exc}") from exc
    return text(["rev-parse", "HEAD"], root)


RECEIVED_REF = "refs/heads/received"


def _import_stream(tar: tarfile.TarFile, members: list[tarfile.TarInfo]) -> bytes:
    """The ``git fast-import`` stream of the checked ``members``: one blob each, one commit."""
    out = bytearray()
    files: list[bytes] = []
    for mark, m in enumerate((m for m in members if not m.isdir()), start=1):
        if m.issym():
            data, mode = m.linkname.encode("utf-8", "surrogateescape"), b"120000"
        else:
            source = tar.extractfile(m)
            assert source is not None  # a regular file (checked)
            data, mode = source.read(), b"100755" if m.mode & 0o111 else b"100644"
        out += b"blob\nmark :%d\ndata %d\n" % (mark, len(data)) + data + b"\n"
        files.append(b"M %s :%d %s\n" % (mode, mark, _quote(m.name.removeprefix("./"))))
    message = b"runner: the workspace as received\n"
    out += b"commit %s\ncommitter runner <runner@localhost> 0 +0000\ndata %d\n%s" % (
        RECEIVED_REF.encode(), len(message), message)
    out += b"".join(files) + b"\ndone\n"
    return bytes(out)


def _quote(path: str) -> bytes:
    """``path`` as a C-quoted fast-import path (any byte but NUL may be in it)."""
    raw = path.encode("utf-8", "surrogateescape")
    body = bytearray()
    for byte in raw:
        if byte in (0x22, 0x5C):
            body += b"\\" + bytes([byte])
        elif byte < 0x20 or byte == 0x7F:
            body += b"\\%03o" % byte
        else:
            body.append(byte)
    return b'"' + bytes(body) + b'"'


def _check(members: list[tarfile.TarInfo], limit: int) -> None:
    links: set[str] = set()
    seen: set[str] = set()
    files: set[str] = set()  # regular files and symlinks
    folders: set[str] = set()  # every directory a path implies
    total = 0
    for m in members:
        name = m.name.removeprefix("./")
        parts = name.rstrip("/").split("/")
        if name.rstrip("/") in seen and not m.isdir():
            raise TransferError(f"refused: the archive holds `{m.name}` twice")
        seen.add(name.rstrip("/"))
        if name.startswith("/") or not name or ".." in parts or "" in parts:
            raise TransferError(f"refused: the archive writes `{m.name}`, outside the workspace")
        if "." in parts:
            raise TransferError(f"refused: the archive's `{m.name}` is not a plain path (a `.` in it)")
        if any(p.casefold() == ".git" for p in parts):
            raise TransferError(f"refused: the archive writes `{m.name}`, inside .git")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in links:
                raise TransferError(f"refused: the archive writes `{m.name}` through the symlink "
                                    f"`{'/'.join(parts[:i])}`")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in files:
                raise TransferError(f"the archive's `{m.name}` cannot be written: `{'/'.join(parts[:i])}` is a file")
        if not m.isdir():
            if name in folders:
                raise TransferError(f"the archive's `{m.name}` cannot be written: it is a directory too")
            files.add(name)
        folders.update("/".join(parts[:i]) for i in range(1, len(parts) + (1 if m.isdir() else 0)))
        if m.issym():
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), m.linkname))
            if m.linkname.startswith("/") or target == ".." or target.startswith("../"):
                raise TransferError(f"refused: the archive makes `{m.name}` a symlink to `{m.linkname}`, "
                                    "outside the workspace")
            links.add(name.rstrip("/"))
        elif not (m.isreg() or m.isdir()):
            raise TransferError(f"refused: the archive's `{m.name}` is a {_kind(m)}, not a file, "
                                "directory or symlink")
        total += m.size if m.isreg() else 0
        if total > limit:
            raise TransferError(f"the workspace archive unpacks to more than the transfer cap of {mib(limit)}")


def _kind(m: tarfile.TarInfo) -> str:
    return "hard link" if m.islnk() else "FIFO" if m.isfifo() else "device" if m.isdev() else "special entry"
