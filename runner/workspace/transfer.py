"""A workspace sent to a remote agent and its change brought back (docs/workspaces.md, "Remote agents").

The caller ``pack``\\ s the attempt's checkout as it was made — the base commit's tree, read from
git's objects, so the archive is exactly the base (no ``export-ignore``, no smudge filters) — as a
gzip-compressed tar of regular files, executables and symlinks (submodules are left out). The
agent server ``unpack``\\ s it into a temporary directory after checking every entry: a path that
is absolute, climbs out with ``..``, lies in ``.git``, passes through a symlink, or a symlink
pointing outside the directory, a hard link, a device or FIFO, more bytes than the cap: refused
with a clear error before anything is written. The server commits what it unpacked (the base),
runs the agent there and returns ``git diff --binary`` of what changed; the caller checks that
patch as ``land`` does (``runner.workspace.patch.check``) and applies it to the attempt's
checkout, where it is captured, verified and landed like a local agent's change.

``LIMIT`` (64 MiB) caps the unpacked files and the patch; the archive itself may be at most
``LIMIT`` plus one MiB. ``runner agent serve --max-workspace SIZE`` sets the server's cap (it
reports it in ``/health``), ``RUNNER_WORKSPACE_TRANSFER_MAX`` the caller's.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from runner.errors import WorkspaceError
from runner.workspace.git import git, text

LIMIT = 64 << 20
OVERHEAD = 1 << 20  # tar headers and gzip framing beyond the files' own bytes
LIMIT_ENV = "RUNNER_WORKSPACE_TRANSFER_MAX"
FORMAT = "tar+gzip"
TEMP_PREFIX = "runner-workspace-"  # the server's per-task directories, under $TMPDIR


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
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", compresslevel=6, mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
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
    return Archive(data=buf.getvalue(), cwd="" if rel == "." else Path(rel).as_posix())


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
    from runner.workspace.patch import check, parse

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
    from runner.workspace.git import attempt

    ok, said = attempt(["apply", "--binary", "--whitespace=nowarn", "-"], root, input=patch)
    if not ok:
        raise TransferError(f"the change does not apply to the workspace: {said or 'git apply failed'}")


# ---------------------------------------------------------------- server side


@contextmanager
def received(archive: Archive, limit: int = LIMIT) -> Iterator[tuple[Path, Path, str]]:
    """A temporary checkout of ``archive``: (its root, where the agent starts, the base commit).

    Removed when the block ends, whatever happened."""
    root = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX)).resolve()
    try:
        unpack(archive.data, root, limit)
        cwd = _cwd(root, archive.cwd)
        git(["init", "--quiet"], root)
        git(["add", "-A", "-f"], root)  # every file sent is the base, ignored or not
        tree = text(["write-tree"], root)
        base = git(["commit-tree", tree], root, input=b"runner: the workspace as received\n").decode().strip()
        git(["update-ref", "HEAD", base], root)
        yield root, cwd, base
    finally:
        _remove(root)


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


def unpack(data: bytes, dest: Path, limit: int = LIMIT) -> None:
    """Check every entry of the tar.gz ``data`` (module docstring), then extract it into ``dest``."""
    if len(data) > limit + OVERHEAD:
        raise TransferError(f"the workspace archive is {mib(len(data))}, over the transfer cap of {mib(limit)}")
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            members = tar.getmembers()
            _check(members, limit)
            _extract(tar, members, dest)
    except TransferError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise TransferError(f"the workspace archive is not a readable {FORMAT}: {exc}") from exc


def _extract(tar: tarfile.TarFile, members: list[tarfile.TarInfo], dest: Path) -> None:
    """Write the checked ``members`` under ``dest``: files (0644, or 0755 when executable),
    directories and symlinks only, never following a symlink (``O_NOFOLLOW | O_EXCL``).

    Not ``extractall``: its per-file ownership, times and filter bookkeeping made a 10,000-file
    workspace take seconds, and its ``filter`` needs Python 3.11.4 (Debian 12 ships 3.11.2)."""
    made = {str(dest)}
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    for m in members:
        try:
            _write(tar, m, dest, made, flags)
        except OSError as exc:  # a file where a directory must be, say
            raise TransferError(f"the archive's `{m.name}` cannot be written: {exc.strerror or exc}") from exc


def _write(tar: tarfile.TarFile, m: tarfile.TarInfo, dest: Path, made: set[str], flags: int) -> None:
    path = os.path.join(dest, m.name.removeprefix("./").rstrip("/"))
    parent = os.path.dirname(path)
    if parent not in made:
        os.makedirs(parent, exist_ok=True)
        made.add(parent)
    if m.isdir():
        os.makedirs(path, exist_ok=True)
        made.add(path)
    elif m.issym():
        os.symlink(m.linkname, path)
    else:
        source = tar.extractfile(m)
        assert source is not None  # a regular file (checked)
        with os.fdopen(os.open(path, flags, 0o755 if m.mode & 0o111 else 0o644), "wb") as out:
            shutil.copyfileobj(source, out)


def _check(members: list[tarfile.TarInfo], limit: int) -> None:
    links: set[str] = set()
    seen: set[str] = set()
    total = 0
    for m in members:
        name = m.name.removeprefix("./")
        parts = name.rstrip("/").split("/")
        if name.rstrip("/") in seen and not m.isdir():
            raise TransferError(f"refused: the archive holds `{m.name}` twice")
        seen.add(name.rstrip("/"))
        if name.startswith("/") or not name or ".." in parts or "" in parts:
            raise TransferError(f"refused: the archive writes `{m.name}`, outside the workspace")
        if any(p.casefold() == ".git" for p in parts):
            raise TransferError(f"refused: the archive writes `{m.name}`, inside .git")
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in links:
                raise TransferError(f"refused: the archive writes `{m.name}` through the symlink "
                                    f"`{'/'.join(parts[:i])}`")
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


def _remove(root: Path) -> None:
    for folder, dirs, _files in os.walk(root):  # an agent may leave directories it cannot write
        for name in dirs:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                with contextlib.suppress(OSError):
                    os.chmod(path, stat.S_IRWXU)
    shutil.rmtree(root, ignore_errors=True)
