"""A workspace travels with a task to a real agent server (HTTP and gRPC, in this process) and
its change comes back: the server unpacks it in a temporary directory, runs a real command
agent there, answers with the patch and removes the directory; the client applies the patch
to the caller's checkout. Old servers, hostile or broken archives and patches get clear errors."""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from gitrepo import git, make_repo
from protocol_helpers import served

from runner.agents.model import TaskRequest
from runner.errors import AgentFailure, FailureKind
from runner.protocol import service as service_module
from runner.spec.models import AgentDef
from runner.workspace.transfer import TransferError, pack
from runner.workspace.unpack import received

EDIT = ("pwd > where.txt; cd \"$(git rev-parse --show-toplevel)\"; printf 'def add(a, b):\\n    return a + b\\n' > calc.py; rm -f old.txt; mkdir -p new; "
        "printf '\\000\\001bin' > new/blob.bin; chmod +x run.sh; echo edited")


def _repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path / "repo", {"calc.py": "def add(a, b):\n    pass\n", "old.txt": "bye\n",
                                         "run.sh": "echo hi\n", "sub/keep.txt": "k\n", ".gitignore": "*.log\n",
                                         "odd/sp ace \u00fcn\u00efc\u00f8de \"q\" \\b.txt": "odd\n",
                                         "deep/" + "/".join(["long-directory-name"] * 8) + "/f.txt": "deep\n"})
    (repo / "link").symlink_to("sub/keep.txt")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "link")
    return repo


@pytest.fixture
def tmpdir_of_server(tmp_path, monkeypatch):
    """The server's per-task directories go here (tempfile's directory): the test sees them go."""
    where = tmp_path / "server-tmp"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_a_workspace_goes_to_the_server_and_its_change_comes_back(tmp_path, remote, protocol,
                                                                  tmpdir_of_server) -> None:
    repo = _repo(tmp_path)
    agent = AgentDef(type="command", command=("sh", "-c", EDIT + "; echo made > build.log"))
    with served(agent) as server:
        handle = remote(server.urls[protocol])
        handle.start()
        result = handle.execute(TaskRequest(task_id="t1", description="add", workspace=str(repo / "sub")))
    assert "edited" in result.output and result.patch
    assert (repo / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert not (repo / "old.txt").exists() and (repo / "new/blob.bin").read_bytes() == b"\0\1bin"
    assert (repo / "run.sh").stat().st_mode & 0o100
    # the agent started in the same subdirectory, on the server's side; ignored files stay there
    assert (repo / "sub/where.txt").exists() and str(tmpdir_of_server) in (repo / "sub/where.txt").read_text()
    assert not (repo / "build.log").exists()
    assert list(tmpdir_of_server.iterdir()) == []


def test_an_agent_that_changes_nothing_returns_an_empty_change(tmp_path, remote, tmpdir_of_server) -> None:
    repo = _repo(tmp_path)
    with served(AgentDef(type="command", command=("sh", "-c", "echo looked"))) as server:
        handle = remote(server.urls["http"])
        handle.start()
        result = handle.execute(TaskRequest(task_id="t1", description="x", workspace=str(repo)))
    assert result.patch == b"" and git(repo, "status", "--porcelain") == ""
    assert list(tmpdir_of_server.iterdir()) == []


@pytest.mark.parametrize("protocol", ["http", "grpc"])
@pytest.mark.parametrize("version", ["1", "2"])  # 2 took a workspace only inline
def test_an_older_server_gets_a_clear_config_error_not_a_hang(tmp_path, remote, protocol, version,
                                                              monkeypatch) -> None:
    repo = _repo(tmp_path)
    monkeypatch.setattr(service_module, "PROTOCOL_VERSION", version)  # what an older server reports
    with served(AgentDef(type="command", command=("sh", "-c", "echo looked"))) as server:
        handle = remote(server.urls[protocol])
        handle.start()
        with pytest.raises(AgentFailure) as failed:
            handle.execute(TaskRequest(task_id="t1", description="x", workspace=str(repo)))
        # a task without a workspace still works with it
        assert handle.execute(TaskRequest(task_id="t2", description="x")).output
    assert failed.value.kind is FailureKind.CONFIG
    assert f"speaks protocol {version}; a task in a workspace needs protocol 3" in str(failed.value)
    assert git(repo, "status", "--porcelain") == ""


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_a_workspace_over_the_servers_cap_is_refused_before_sending(tmp_path, remote, protocol) -> None:
    repo = make_repo(tmp_path / "repo", {"big.bin": bytes(range(256)) * 4096})  # 1 MiB
    with served(AgentDef(type="command", command=("sh", "-c", EDIT))) as server:
        server.service.max_workspace = 64 << 10
        handle = remote(server.urls[protocol])
        handle.start()
        with pytest.raises(AgentFailure) as failed:
            handle.execute(TaskRequest(task_id="t1", description="x", workspace=str(repo)))
    assert failed.value.kind is FailureKind.CONFIG
    assert "over the transfer cap of 0.1 MiB" in str(failed.value) and "--max-workspace" in str(failed.value)


def test_a_long_lived_agent_refuses_a_workspace_task(tmp_path, remote) -> None:
    repo = _repo(tmp_path)
    agent = AgentDef(type="command", mode="long-lived", ready_pattern="^> $",
                     command=("sh", "-c", "while printf '> ' && read l; do echo ok; done"))
    with served(agent) as server:
        handle = remote(server.urls["http"])
        handle.start()
        with pytest.raises(AgentFailure) as failed:
            handle.execute(TaskRequest(task_id="t1", description="x", workspace=str(repo)))
    assert failed.value.kind is FailureKind.CONFIG and "is long-lived" in str(failed.value)


# ------------------------------------------------------------------ the archive, checked


def _tar(*members: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buf.getvalue()


def _entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


HOSTILE = {
    "inside .git": (_tar((_entry(".git/hooks/pre-commit"), b"evil")), "inside .git"),
    "inside .GIT": (_tar((_entry("sub/.GIT/config"), b"evil")), "inside .git"),
    "climbs out": (_tar((_entry("../escape.txt"), b"evil")), "outside the workspace"),
    "absolute": (_tar((_entry("/tmp/escape.txt"), b"evil")), "outside the workspace"),
    "through a symlink": (_tar((_entry("out", tarfile.SYMTYPE, "sub"), b""), (_entry("out/x"), b"evil")),
                          "through the symlink `out`"),
    "escaping symlink": (_tar((_entry("out", tarfile.SYMTYPE, "../../etc"), b"")), "outside the workspace"),
    "absolute symlink": (_tar((_entry("out", tarfile.SYMTYPE, "/etc"), b"")), "outside the workspace"),
    "hard link": (_tar((_entry("a"), b"x"), (_entry("h", tarfile.LNKTYPE, "a"), b"")), "is a hard link"),
    "device": (_tar((_entry("dev", tarfile.CHRTYPE), b"")), "is a device"),
    "fifo": (_tar((_entry("pipe", tarfile.FIFOTYPE), b"")), "is a FIFO"),
    "twice": (_tar((_entry("a"), b"x"), (_entry("a"), b"y")), "holds `a` twice"),
    "file then dir": (_tar((_entry("a"), b"x"), (_entry("a/b"), b"y")), "`a/b` cannot be written"),
    "not gzip": (b"PK\x03\x04 a zip, not a tar.gz", "not a readable tar+gzip"),
    "truncated": (_tar((_entry("a.txt"), b"x" * 5000))[:40], "not a readable tar+gzip"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_a_hostile_or_broken_archive_is_refused_and_nothing_is_written(tmp_path, name, tmpdir_of_server) -> None:
    data, said = HOSTILE[name]
    from runner.workspace.transfer import Archive

    with pytest.raises(TransferError) as refused:
        with received(Archive.of(data)):
            raise AssertionError("unpacked")
    assert said in str(refused.value)
    assert list(tmpdir_of_server.iterdir()) == [] and not (tmp_path / "escape.txt").exists()


def test_an_archive_that_unpacks_past_the_cap_is_refused(tmpdir_of_server) -> None:
    from runner.workspace.transfer import Archive

    bomb = _tar((_entry("zeros"), bytes(4 << 20)))  # 4 MiB of zeros: a few KiB packed
    assert len(bomb) < 64 << 10
    with pytest.raises(TransferError, match="unpacks to more than the transfer cap of 1.0 MiB"):
        with received(Archive.of(bomb), limit=1 << 20):
            pass


def test_a_header_bombed_archive_is_refused_before_the_header_is_read_whole(tmpdir_of_server) -> None:
    """tarfile reads a pax header whole: 64 MiB of one, gzipped to a few KiB, is refused while it
    arrives (past what the entries so far justify), not read into memory."""
    import gzip
    import tracemalloc

    from runner.workspace.transfer import Archive

    value = b"x" * (64 << 20)
    record = b"%d comment=%s\n" % (len(value) + 11 + len(str(len(value) + 20)), value)  # length is loose: refused first
    header = tarfile.TarInfo("././@PaxHeader")
    header.type, header.size = tarfile.XHDTYPE, len(record)
    raw = header.tobuf(tarfile.USTAR_FORMAT) + record + bytes(-len(record) % 512)
    bomb = gzip.compress(raw + bytes(1024), compresslevel=9)
    del raw, record, value
    assert len(bomb) < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(TransferError, match="more than its entries justify"):
            with received(Archive.of(bomb)):
                pass
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"{peak >> 20} MiB held"
    assert list(tmpdir_of_server.iterdir()) == []


def test_a_hostile_archive_over_the_wire_is_a_config_failure(tmp_path, remote, tmpdir_of_server) -> None:
    from runner.workspace.transfer import Archive

    with served(AgentDef(type="command", command=("sh", "-c", "echo ran > ran.txt"))) as server:
        for protocol in ("http", "grpc"):
            handle = remote(server.urls[protocol])
            handle.start()
            bad = TaskRequest(task_id=f"t-{protocol}", description="x",
                              archive=Archive.of(HOSTILE["inside .git"][0]))
            with pytest.raises(AgentFailure) as failed:
                handle.execute(bad)
            assert failed.value.kind is FailureKind.CONFIG, protocol
            assert "refused: the archive writes `.git/hooks/pre-commit`, inside .git" in str(failed.value)
    assert list(tmpdir_of_server.iterdir()) == []


def test_pack_is_the_base_tree_whatever_the_checkout_holds(tmp_path) -> None:
    from runner.workspace.transfer import Archive

    repo = _repo(tmp_path)
    (repo / ".gitattributes").write_text("calc.py export-ignore\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "attrs")
    (repo / "calc.py").write_text("uncommitted\n")  # not the base: HEAD is
    packed = pack(repo, repo / "sub")  # into an anonymous temporary file
    try:
        data = packed.source.read()
    finally:
        packed.close()
    assert len(data) == packed.size
    archive = Archive.of(data, packed.cwd)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = {m.name: m for m in tar.getmembers()}
        assert tar.extractfile("calc.py").read() == b"def add(a, b):\n    pass\n"  # export-ignore ignored
    assert names["link"].issym() and names["link"].linkname == "sub/keep.txt"
    assert archive.cwd == "sub"
    with received(archive) as (root, cwd, base):  # the server's base is the caller's, tree for tree
        assert cwd == root / "sub"
        assert git(root, "rev-parse", f"{base}^{{tree}}") == git(repo, "rev-parse", "HEAD^{tree}")
        assert (root / "run.sh").stat().st_mode & 0o777 == 0o644 and (root / "link").is_symlink()


# ------------------------------------------------------------------ a hostile server


class _Hostile(BaseHTTPRequestHandler):
    patch = b""

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self.seen.append(("GET", self.path))
        self._send({"healthy": True, "message": "", "state": "ready", "protocolVersion": "3",
                    "maxWorkspaceBytes": 1 << 20, "concurrency": 1})

    def do_POST(self) -> None:  # noqa: N802
        self.seen.append(("POST", self.path))
        length = int(self.headers["Content-Length"])
        head = self.rfile.readline()
        self.rfile.read(length - len(head))  # the archive
        body = json.loads(head)
        reply = {"taskId": body.get("taskId"), "result": "ok", "confidence": None, "reasoning": "", "output": ""}
        patch = self.patch or b""
        if self.patch is not None:
            reply["change"] = {"size": len(patch)}
        data = json.dumps(reply).encode() + b"\n" + patch  # protocol 3: a JSON line, then the change
        self.send_response(200)
        self.send_header("Content-Type", "application/x-runner-result+patch")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _patch(path: str, extra: str = "new file mode 100644\n") -> bytes:
    return (f"diff --git a/{path} b/{path}\n{extra}--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+evil\n").encode()


HOSTILE_PATCHES = {
    "into .git": (_patch(".git/hooks/post-checkout"), FailureKind.DENIED, "inside .git"),
    "outside": (_patch("../outside.txt"), FailureKind.DENIED, "outside the workspace"),
    "through a symlink": (_patch("link/evil.txt"), FailureKind.DENIED, "through the symlink `link`"),
    "escaping symlink": (b"diff --git a/l b/l\nnew file mode 120000\n--- /dev/null\n+++ b/l\n@@ -0,0 +1 @@\n"
                         b"+/etc\n\\ No newline at end of file\n", FailureKind.DENIED, "a symlink to `/etc`"),
    "does not apply": (b"diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1,1 +1,1 @@\n"
                       b"-not this line\n+x\n", FailureKind.PARSE, "does not apply"),
    "garbage": (b"diff --git nonsense\n", FailureKind.PARSE, "unreadable"),
    "no change at all": (None, FailureKind.PARSE, "has no `change`"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_PATCHES))
def test_a_hostile_patch_from_a_server_is_refused_and_nothing_is_written(tmp_path, remote, name) -> None:
    patch, kind, said = HOSTILE_PATCHES[name]
    repo = _repo(tmp_path)
    seen: list = []
    handler = type("H", (_Hostile,), {"patch": patch, "seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        handle = remote(f"http://127.0.0.1:{server.server_port}")
        handle.start()
        with pytest.raises(AgentFailure) as failed:
            handle.execute(TaskRequest(task_id="t1", description="x", workspace=str(repo)))
    finally:
        server.shutdown()
        server.server_close()
    assert failed.value.kind is kind and said in str(failed.value), (str(failed.value), seen)
    assert git(repo, "status", "--porcelain", "--ignored") == ""
    assert not (tmp_path / "outside.txt").exists() and not (repo / ".git/hooks/post-checkout").exists()


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_denied_tools_travel_back_with_the_change(tmp_path, remote, protocol, tmpdir_of_server) -> None:
    from runner.agents.inprocess import PythonAgent
    from runner.agents.model import TaskResult
    from runner.protocol.grpc_server import GrpcAgentServer
    from runner.protocol.http_server import HttpAgentServer
    from runner.protocol.service import AgentService

    def work(request: TaskRequest) -> TaskResult:
        Path(request.workspace, "made.txt").write_text("by the agent\n")
        return TaskResult(task_id=request.task_id, result="done", denied=("Bash", "Write"))

    service = AgentService(PythonAgent("py", work), max_tasks=1)
    server = (HttpAgentServer if protocol == "http" else GrpcAgentServer)(service, "127.0.0.1", 0).start()
    service.start_agent()
    try:
        repo = _repo(tmp_path)
        handle = remote(server.url)
        handle.start()
        result = handle.execute(TaskRequest(task_id="t1", description="x", workspace=str(repo)))
    finally:
        service.drain(0.5)
        server.stop(0.2)
    assert result.denied == ("Bash", "Write") and (repo / "made.txt").read_text() == "by the agent\n"
    assert list(tmpdir_of_server.iterdir()) == []


def test_max_workspace_sizes_and_a_bad_one_is_a_usage_error(tmp_path) -> None:
    import subprocess
    import sys

    from runner.workspace.transfer import parse_size

    assert [parse_size(v, "x") for v in ("1024", "64M", "2k", "1G")] == [1024, 64 << 20, 2048, 1 << 30]
    proc = subprocess.run([sys.executable, "-m", "runner", "agent", "serve", "--id", "x", "--http", "127.0.0.1:0",
                           "--max-workspace", "12Q", "--", "echo", "hi"], capture_output=True, text=True,
                          timeout=30, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: --max-workspace: expected a size like 64M or 1048576, got `12Q`"


def test_a_remote_agent_in_readonly_and_requirechange_steps_fails_as_a_local_one(tmp_path, tmpdir_of_server) -> None:
    from gitrepo import fingerprint, leftovers

    from runner.api import apply
    from runner.context import RunContext
    from runner.spec.pattern import parse_pattern
    from runner.spec.pool import parse_pool

    repo = make_repo(tmp_path / "repo", {"f.txt": "1\n"})
    before = fingerprint(repo)
    for script, mode, kind in (("echo 2 > f.txt; echo wrote", "readonly", "denied"),
                               ("echo looked", "worktree", "no-change")):
        with served(AgentDef(type="command", command=("sh", "-c", script), capabilities=("w",))) as server:
            pool = parse_pool(f"kind: pool\nname: r\nagents:\n  - {{id: r1, endpoint: '{server.urls['http']}', "
                              "capabilities: [w]}\n", "pool.yaml")
            pattern = parse_pattern(f"name: p\nsteps:\n  - id: s\n    agents: {{capabilities: [w]}}\n    task: go\n"
                                    f"    workspace: {{from: {repo}, mode: {mode}, requireChange: true}}\n", "p.yaml")
            outcome = apply(pattern, pool, {}, ctx=RunContext(workdir=tmp_path, state_dir=tmp_path / "state"))
        attempt = outcome.result["steps"][0]["attempts"][0]
        assert attempt["errorKind"] == kind, attempt
    assert fingerprint(repo) == before and leftovers(repo) == ([], [])
    assert list(tmpdir_of_server.iterdir()) == []
