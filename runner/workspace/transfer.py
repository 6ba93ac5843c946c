"""A workspace sent to a remote agent and its change brought back (docs/workspaces.md, "Remote agents").

The caller ``pack``\\ s the attempt's checkout as it was made — the base commit's tree, read from
git's objects, so the archive is exactly the base (no ``export-ignore``, no smudge filters) — as a
gzip-compressed tar of regular files, executables and symlinks (submodules are left out), into
an anonymous temporary file: blobs stream from ``git cat-file --batch`` through tar and gzip to
disk, never held whole. The transports stream that file to the agent server (protocol 3); the
server checks and unpacks it as it arrives (``runner.workspace.unpack``), runs the agent, and
streams back ``git diff --binary`` of what changed; the caller checks that patch as ``land``
does (``runner.workspace.patch.check``) and applies it to the attempt's checkout, where it is
captured, verified and landed like a local agent's change.

``LIMIT`` (64 MiB) caps the unpacked files and the patch; the archive itself may be at most
``LIMIT`` plus one MiB. ``runner agent serve --max-workspace SIZE`` sets the server's cap (it
reports it in ``/health``), ``RUNNER_WORKSPACE_TRANSFER_MAX`` the caller's.
"""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from runner.errors import WorkspaceError
from runner.workspace.git import attempt, git, start
from runner.workspace.patch import check, parse

LIMIT = 64 << 20
OVERHEAD = 1 << 20  # tar headers and gzip framing beyond the files' own bytes
LIMIT_ENV = "RUNNER_WORKSPACE_TRANSFER_MAX"
FORMAT = "tar+gzip"
CHUNK = 256 << 10  # bytes of one piece on the wire (an HTTP write, a gRPC message): each in hand costs memory
HEAD_LIMIT = 16 << 20  # bytes of a task or reply without its workspace or change (an HTTP body, its JSON line)


class TransferError(WorkspaceError):
    """An archive or a patch that must not be used (too large, unreadable, hostile)."""


class Source(Protocol):
    """What an archive is read from: the caller's file, a request body, a stream of gRPC parts."""

    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True, kw_only=True)
class Archive:
    """A workspace on its way: ``source`` reads its tar.gz (of the base tree) once, from the start;
    ``cwd`` is where the agent starts; ``size`` its bytes when known before reading."""

    source: Source
    cwd: str = ""  # relative to the archive's root, "" for the root
    size: int | None = None

    @classmethod
    def of(cls, data: bytes, cwd: str = "") -> Archive:
        """An archive held in memory (tests, small tools)."""
        return cls(source=io.BytesIO(data), cwd=cwd, size=len(data))

    def close(self) -> None:
        """Let go of the source (the caller's temporary file)."""
        close = getattr(self.source, "close", None)
        if close is not None:
            close()


def mib(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB"


def message_limit() -> int:
    """Bytes of one gRPC message: a task or reply without its workspace (16 MiB, as an HTTP body),
    or one part of a streamed workspace or change (``CHUNK``), with room for the rest."""
    return HEAD_LIMIT + CHUNK


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
    """The checkout at ``root`` as its ``HEAD`` (the attempt's base) records it, in an anonymous
    temporary file (``Archive.source``; the caller closes it)."""
    entries = git(["ls-tree", "-r", "-z", "-l", "--full-tree", "HEAD"], root).split(b"\0")
    wanted: list[tuple[str, str, int, str]] = []  # (mode, sha, size, path)
    for entry in filter(None, entries):
        meta, _, raw_path = entry.partition(b"\t")
        mode, kind, sha, size = meta.decode().split()
        if kind == "blob":  # a "commit" is a submodule: not sent (docs: limits)
            wanted.append((mode, sha, int(size), raw_path.decode("utf-8", "surrogateescape")))
    total = sum(size for _, _, size, _ in wanted)
    if total > limit:
        raise TransferError(f"the workspace holds {mib(total)} of files, over the transfer cap of {mib(limit)}")
    out = tempfile.TemporaryFile(prefix="runner-pack-")  # unlinked at once: nothing to leave behind
    try:
        _write(root, wanted, out)
    except BaseException:
        out.close()
        raise
    length = out.tell()
    out.seek(0)
    rel = os.path.relpath(cwd, root)
    return Archive(source=out, cwd="" if rel == "." else Path(rel).as_posix(), size=length)


def _write(root: Path, wanted: list[tuple[str, str, int, str]], out: IO[bytes]) -> None:
    """The tar.gz of ``wanted`` into ``out``, the blobs streamed from one ``git cat-file --batch``."""
    with tempfile.TemporaryFile() as names:  # cat-file's input: a pipe could fill both ways at once
        names.write("".join(f"{sha}\n" for _, sha, _, _ in wanted).encode())
        names.seek(0)
        proc = start(["cat-file", "--batch"], root, stdin=names, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    try:
        with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as gz:
            batched = _Batched(gz)
            with tarfile.open(fileobj=batched, mode="w", format=tarfile.GNU_FORMAT, encoding="utf-8",  # type: ignore[call-overload]
                              errors="surrogateescape") as tar:
                for mode, sha, size, path in wanted:
                    header = proc.stdout.readline().split()
                    if len(header) != 3 or header[0].decode() != sha or int(header[2]) != size:
                        raise WorkspaceError(f"git cat-file answered {b' '.join(header)[:80]!r} for {sha}")
                    info = tarfile.TarInfo(path)
                    if mode == "120000":
                        info.type, info.mode = tarfile.SYMTYPE, 0o777
                        info.linkname = proc.stdout.read(size).decode("utf-8", "surrogateescape")
                        tar.addfile(info)
                    else:
                        info.size, info.mode = size, 0o755 if mode == "100755" else 0o644
                        tar.addfile(info, proc.stdout)  # reads exactly `size` bytes
                    proc.stdout.read(1)  # the newline after each blob
            batched.flush()
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()


class _Batched:
    """tarfile's many small writes gathered into large ones: a gzip write each costs more than
    its bytes (30,000 small files made 30,000 gzip calls)."""

    def __init__(self, out: io.BufferedIOBase) -> None:
        self.out, self.buf, self.pos = out, bytearray(), 0

    def write(self, data: bytes) -> int:
        self.buf += data
        self.pos += len(data)
        if len(self.buf) >= 1 << 20:
            self.flush()
        return len(data)

    def tell(self) -> int:
        return self.pos

    def flush(self) -> None:
        self.out.write(self.buf)
        self.buf.clear()


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


