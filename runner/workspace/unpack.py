"""The agent server's side of a workspace sent with a task: check and unpack it as it arrives.

``received`` makes a labelled temporary directory (``runner.workspace.scratch``) and ``unpack``\\ s
the archive into a new repository there while reading it, never holding it whole: the
compressed bytes are counted as they are read (past the cap plus one MiB: refused, the rest
left unread), the tar is read as a stream, every entry is checked before its contents are read —
a path that is absolute, climbs out with ``..``, has a ``.`` component, lies in ``.git``, passes
through a symlink, a symlink pointing outside, a hard link, a device or FIFO, a path given twice
or as both file and directory, more bytes than the cap: refused with a clear error — and each
file's bytes go straight on to ``git fast-import`` in pieces. Only when the whole archive passed
are files written (``git read-tree -u``, as ``git worktree add`` does): a refused archive has
put blobs in the temporary repository's object store and nothing else, and the directory goes.
The repository's first commit has the caller's base tree, hash for hash; the server runs the
agent there and captures its change into a file (``runner.workspace.capture.capture_to``).
"""

from __future__ import annotations

import contextlib
import gzip
import posixpath
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from runner.errors import WorkspaceError
from runner.workspace.git import git, start, text
from runner.workspace.scratch import scratch
from runner.workspace.transfer import FORMAT, LIMIT, OVERHEAD, Archive, Source, TransferError, mib

RECEIVED_REF = "refs/heads/received"
PIECE = 64 << 10  # bytes of a file copied at once to fast-import: each copy in hand costs memory
ENTRY = 8 << 10  # tar bytes one entry may take besides its contents: headers, a long name (PATH_MAX), padding


@contextmanager
def received(archive: Archive, limit: int = LIMIT) -> Iterator[tuple[Path, Path, str]]:
    """A temporary checkout of ``archive``: (its root, where the agent starts, the base commit).

    Removed when the block ends, whatever happened."""
    with scratch() as root:  # labelled with this server: swept if it dies (runner.workspace.scratch)
        git(["init", "--quiet"], root)
        base = unpack(archive.source, root, limit)
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


def unpack(source: Source, root: Path, limit: int = LIMIT) -> str:
    """Read the tar.gz from ``source`` into the (new, empty) repository at ``root`` as its first
    commit, checked out; returns that commit (see the module docstring)."""
    with tempfile.TemporaryFile() as said:
        proc = start(["fast-import", "--quiet", "--done"], root, stdin=subprocess.PIPE,
                     stdout=subprocess.DEVNULL, stderr=said)
        assert proc.stdin is not None
        try:
            _stream(_Capped(source, limit + OVERHEAD), proc.stdin, limit)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # fast-import stopped early: its exit status and message say why
        except BaseException:
            proc.kill()
            with contextlib.suppress(OSError):
                proc.stdin.close()
            proc.wait()
            raise
        if proc.wait() != 0:
            said.seek(0)
            lines = said.read().decode(errors="replace").strip().splitlines()
            raise TransferError(f"the workspace archive cannot be checked out: git fast-import: "
                                f"{lines[-1] if lines else f'exit {proc.returncode}'}")
    try:
        git(["symbolic-ref", "HEAD", RECEIVED_REF], root)
        git(["read-tree", "--reset", "-u", "HEAD"], root)  # git's own path checks too (.git, ...)
    except WorkspaceError as exc:  # a path git will not write: the archive's fault
        raise TransferError(f"the workspace archive cannot be checked out: {exc}") from exc
    return text(["rev-parse", "HEAD"], root)


def _stream(source: _Capped, out: IO[bytes], limit: int) -> None:
    """The ``git fast-import`` stream of the archive: one blob per checked entry, then one commit."""
    check = _Checker(limit)
    files: list[bytes] = []
    try:
        with gzip.GzipFile(fileobj=source, mode="rb") as gz:  # type: ignore[call-overload]
            tarred = _Justified(gz, check)
            with tarfile.open(fileobj=tarred, mode="r|", encoding="utf-8",  # type: ignore[call-overload]
                              errors="surrogateescape") as tar:
                for m in tar:
                    check(m)
                    if m.isdir():
                        continue
                    mark = len(files) + 1
                    if m.issym():
                        data = m.linkname.encode("utf-8", "surrogateescape")
                        out.write(b"blob\nmark :%d\ndata %d\n%s\n" % (mark, len(data), data))
                        mode = b"120000"
                    else:
                        out.write(b"blob\nmark :%d\ndata %d\n" % (mark, m.size))
                        body = tar.extractfile(m)
                        assert body is not None  # a regular file (checked)
                        while piece := body.read(PIECE):
                            out.write(piece)
                        out.write(b"\n")
                        mode = b"100755" if m.mode & 0o111 else b"100644"
                    files.append(b"M %s :%d %s\n" % (mode, mark, _quote(m.name.removeprefix("./"))))
            while tarred.read(PIECE):  # to the gzip trailer, which checks the whole stream (CRC, length)
                pass
    except TransferError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        raise TransferError(f"the workspace archive is not a readable {FORMAT}: {exc}") from exc
    message = b"runner: the workspace as received\n"
    out.write(b"commit %s\ncommitter runner <runner@localhost> 0 +0000\ndata %d\n%s" % (
        RECEIVED_REF.encode(), len(message), message))
    out.write(b"".join(files) + b"\ndone\n")


class _Justified:
    """The tar, uncompressed, refused (``TransferError``) past what its entries so far justify:
    tarfile reads a pax or GNU long-name header whole, and gzip makes a huge one of a few bytes."""

    def __init__(self, gz: gzip.GzipFile, check: _Checker) -> None:
        self.gz, self.check, self.count = gz, check, 0

    def read(self, size: int = -1) -> bytes:
        data = self.gz.read(PIECE if size is None or size < 0 else size)
        self.count += len(data)
        if self.count > self.check.justified():
            raise TransferError(f"the workspace archive holds more than its entries justify ({mib(self.count)} of "
                                "tar headers and data): refused")
        return data


class _Capped:
    """``source`` read in pieces, refused (``TransferError``) once past ``cap`` bytes: what is over
    the cap is never read."""

    def __init__(self, source: Source, cap: int) -> None:
        self.source, self.cap, self.count = source, cap, 0

    def read(self, size: int = -1) -> bytes:
        want = PIECE if size is None or size < 0 else size
        data = self.source.read(min(want, self.cap - self.count + 1))
        self.count += len(data)
        if self.count > self.cap:
            raise TransferError(f"the workspace archive is over {mib(self.cap)}, the transfer cap of "
                                f"{mib(self.cap - OVERHEAD)} plus {mib(OVERHEAD)} (not read further)")
        return data


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


class _Checker:
    """Checks the entries of an archive one by one, as they arrive (module docstring)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.links: set[str] = set()
        self.seen: set[str] = set()
        self.files: set[str] = set()  # regular files and symlinks
        self.folders: set[str] = set()  # every directory a path implies
        self.total = 0
        self.entries = 0
        self.blocks = 0  # tar bytes of the files' contents (512-byte blocks)

    def justified(self) -> int:
        """Bytes of tar the entries seen so far may take: their contents, a header of up to
        ``ENTRY`` each (a long name included) and the next one's, and ``OVERHEAD`` beyond."""
        return self.blocks + ENTRY * (self.entries + 1) + OVERHEAD

    def __call__(self, m: tarfile.TarInfo) -> None:
        name = m.name.removeprefix("./")
        parts = name.rstrip("/").split("/")
        if name.rstrip("/") in self.seen and not m.isdir():
            raise TransferError(f"refused: the archive holds `{m.name}` twice")
        self.seen.add(name.rstrip("/"))
        if name.startswith("/") or not name or ".." in parts or "" in parts:
            raise TransferError(f"refused: the archive writes `{m.name}`, outside the workspace")
        if "." in parts:
            raise TransferError(f"refused: the archive's `{m.name}` is not a plain path (a `.` in it)")
        if any(p.casefold() == ".git" for p in parts):
            raise TransferError(f"refused: the archive writes `{m.name}`, inside .git")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in self.links:
                raise TransferError(f"refused: the archive writes `{m.name}` through the symlink "
                                    f"`{'/'.join(parts[:i])}`")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in self.files:
                raise TransferError(f"the archive's `{m.name}` cannot be written: `{'/'.join(parts[:i])}` is a file")
        if not m.isdir():
            if name in self.folders:
                raise TransferError(f"the archive's `{m.name}` cannot be written: it is a directory too")
            self.files.add(name)
        self.folders.update("/".join(parts[:i]) for i in range(1, len(parts) + (1 if m.isdir() else 0)))
        if m.issym():
            target = posixpath.normpath(posixpath.join(posixpath.dirname(name), m.linkname))
            if m.linkname.startswith("/") or target == ".." or target.startswith("../"):
                raise TransferError(f"refused: the archive makes `{m.name}` a symlink to `{m.linkname}`, "
                                    "outside the workspace")
            self.links.add(name.rstrip("/"))
        elif not (m.isreg() or m.isdir()):
            raise TransferError(f"refused: the archive's `{m.name}` is a {_kind(m)}, not a file, "
                                "directory or symlink")
        self.total += m.size if m.isreg() else 0
        self.entries += 1
        self.blocks += -(-m.size // 512) * 512 if m.isreg() else 0
        if self.total > self.limit:
            raise TransferError(f"the workspace archive unpacks to more than the transfer cap of {mib(self.limit)}")


def _kind(m: tarfile.TarInfo) -> str:
    return "hard link" if m.islnk() else "FIFO" if m.isfifo() else "device" if m.isdev() else "special entry"
