"""Bad sources and bad locks: a clear error with the place of the `uses`, exit 2 (3 when a remote
could not be reached), never a traceback; nothing half-written left in the cache."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_run import RUNNER, assert_no_traceback, env, run, run_here
from gitrepo import git
from patternlib import echo, using

pytestmark = pytest.mark.pty


def cli(args: list[str], cwd: Path, cache: Path, here: bool = False, **extra: str) -> subprocess.CompletedProcess[str]:
    """`runner ARGS` with its own cache; ``here``: inside this process (``e2e_run.run_here``)."""
    proc = (run_here if here else run)(args, cwd, env=env(RUNNER_CACHE_DIR=str(cache), **extra))
    assert_no_traceback(proc)
    return proc


def test_each_bad_source_is_placed_at_its_uses(lib: Path, tmp_path: Path) -> None:
    (tmp_path / "pool.yaml").write_text("kind: pool\nname: p\nagents: []\n")
    (tmp_path / "broken.yaml").write_text("steps: [\n")
    (tmp_path / "main.yaml").write_text(using(
        "./missing.yaml", "./pool.yaml", f"git+file://{lib}//lib/plain.yaml@nope", "pkg:no-such-dist/x",
        "builtin:nope", f"git+file://{lib}//lib/plain.yaml", "./broken.yaml"))
    proc = cli(["lock", "main.yaml"], tmp_path, tmp_path / "cache")
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert lines[0] == f"error: main.yaml:4:5: $.steps[0].uses: pattern source `./missing.yaml` not found " \
                       f"(looked for {tmp_path / 'missing.yaml'})"
    assert lines[1] == f"main.yaml:6:5: $.steps[1].uses: `{tmp_path / 'pool.yaml'}` is a pool file, not a pattern " \
                       "(a pattern has `steps`)"
    assert lines[2].startswith(f"main.yaml:8:5: $.steps[2].uses: git source `git+file://{lib}//lib/plain.yaml@nope`: "
                               "ref does not resolve")
    assert lines[3] == "main.yaml:10:5: $.steps[3].uses: package source `pkg:no-such-dist/x`: no installed Python " \
                       "distribution `no-such-dist` (pip install no-such-dist)"
    assert lines[4].startswith("main.yaml:12:5: $.steps[4].uses: unknown built-in pattern `nope`")
    assert lines[5].startswith("main.yaml:14:5: $.steps[5].uses: git source") and "names no ref" in lines[5]
    assert lines[6].startswith("main.yaml:16:5: $.steps[6].uses: `") and "does not load" in lines[6]
    assert lines[7:] == ["7 errors found"]
    assert not (tmp_path / "runner.lock").exists()


def test_an_unreachable_remote_is_exit_3_at_its_uses(tmp_path: Path) -> None:
    (tmp_path / "main.yaml").write_text(using("git+http://127.0.0.1:1/lib.git//x.yaml@v1"))
    for command in (["lock", "main.yaml"], ["validate", "--frozen", "main.yaml"]):
        proc = cli(command, tmp_path, tmp_path / "cache")
        assert proc.returncode == 3, proc
        assert proc.stderr.startswith("error: main.yaml:4:5: $.steps[0].uses: git source "
                                      "`git+http://127.0.0.1:1/lib.git//x.yaml@v1`: could not reach"), proc.stderr


@pytest.mark.parametrize(("text", "message"), [
    ("{", "runner.lock:1:2: $: corrupt lock file: not JSON: Expecting property name enclosed in double quotes"),
    ("[]", "runner.lock: $: corrupt lock file: expected an object"),
    ('{"lockVersion": 7, "sources": {}}', "runner.lock: $.lockVersion: corrupt lock file: expected 1, found 7"),
    ('{"lockVersion": 1, "sources": {"builtin:vote": {"files": {"vote.yaml": "md5:1"}}}}',
     'runner.lock: $.sources["builtin:vote"].files["vote.yaml"]: corrupt lock file: expected `sha256:` and 64 hex'),
    ('{"lockVersion": 1, "sources": {"builtin:vote": {"commit": "v1", "files": {}}}}',
     'runner.lock: $.sources["builtin:vote"].commit: corrupt lock file: expected a 40-hex git commit'),
    (b"\xff\xfe", "runner.lock: $: corrupt lock file: not UTF-8 text"),
])
def test_a_corrupt_lock_is_placed_and_exit_2(tmp_path: Path, text: str | bytes, message: str) -> None:
    (tmp_path / "runner.lock").write_bytes(text if isinstance(text, bytes) else text.encode())
    (tmp_path / "p.yaml").write_text(echo("x"))
    # `apply` as a user starts it; the other commands (the same lock reader) inside this process
    proc = cli(["apply", "builtin:vote"], tmp_path, tmp_path / "cache")
    assert proc.returncode == 2, proc
    assert message in proc.stdout + proc.stderr, proc
    for command in (["plan", "p.yaml"], ["validate", "p.yaml"], ["patterns", "show", "p.yaml"]):
        proc = cli(command, tmp_path, tmp_path / "cache", here=True)
        assert proc.returncode == 2, proc
        assert message in proc.stdout + proc.stderr, proc
    proc = cli(["lock", "p.yaml"], tmp_path, tmp_path / "cache", here=True)  # `runner lock` replaces it
    assert proc.returncode == 0 and proc.stdout.startswith(message), proc.stdout
    assert json.loads((tmp_path / "runner.lock").read_text()) == {"lockVersion": 1, "patterns": ["p.yaml"], "sources": {}}


def test_a_killed_fetch_leaves_no_entry_that_reads_as_valid(lib: Path, tmp_path: Path) -> None:
    """`git archive` (the tree being written into the cache) hangs until the runner is killed."""
    cache, started, bin_dir = tmp_path / "cache", tmp_path / "archive-started", tmp_path / "bin"
    bin_dir.mkdir()
    real_git = subprocess.run(["sh", "-c", "command -v git"], capture_output=True, text=True).stdout.strip()
    (bin_dir / "git").write_text(
        f"#!{sys.executable}\nimport os, sys, time\n"
        f"if 'archive' in sys.argv:\n    open({str(started)!r}, 'w').close()\n    time.sleep(600)\n"
        f"os.execv({real_git!r}, ['git', *sys.argv[1:]])\n")
    (bin_dir / "git").chmod(0o755)
    ref = f"git+file://{lib}//lib/plain.yaml@v1"
    proc = subprocess.Popen([RUNNER, "validate", ref], cwd=tmp_path, start_new_session=True,
                            env=env(RUNNER_CACHE_DIR=str(cache), PATH=f"{bin_dir}:{os.environ['PATH']}"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not started.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), "the fetch never reached `git archive`"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    sha = git(lib, "rev-parse", "v1").strip()
    left = [p.name for p in (cache / "git").iterdir()]
    assert sha not in left and len(left) == 1 and left[0].startswith(".tmp-"), left  # only the staging folder
    good = cli(["validate", ref], tmp_path, cache)  # the next fetch stores it whole, and clears the orphan
    assert good.returncode == 0, good
    assert sorted(p.name for p in (cache / "git").iterdir()) == [sha]
    assert (cache / "git" / sha / "lib" / "plain.yaml").read_text() == echo("plain")


def test_a_package_source_names_only_its_own_patterns(tmp_path: Path) -> None:
    from patternlib import make_dist

    from runner.errors import UsageError
    from runner.sources import resolve

    make_dist(tmp_path / "site", {"review.yaml": echo("x")})
    (tmp_path / "site" / "outside.yaml").write_text(echo("outside"))
    sys.path.insert(0, str(tmp_path / "site"))
    try:
        assert resolve("pkg:acme-patterns/review", tmp_path).path.read_text() == echo("x")
        with pytest.raises(UsageError, match="is not a pattern inside the distribution"):
            resolve("pkg:acme-patterns/../../outside", tmp_path)
        with pytest.raises(UsageError, match=r"has no pattern `nope` \(it has `review`\)"):
            resolve("pkg:acme-patterns/nope", tmp_path)
    finally:
        sys.path.remove(str(tmp_path / "site"))
        sys.modules.pop("acme_patterns", None)
        sys.modules.pop("acme_patterns.patterns", None)


def test_a_call_of_an_unreachable_or_ungettable_source_without_a_lock(tmp_path: Path) -> None:
    """Composition resolves it (no lock, so no walk first): exit 3, or 2 placed at the uses."""
    (tmp_path / "main.yaml").write_text(using("git+http://127.0.0.1:1/lib.git//x.yaml@v1"))
    for command in (["validate", "main.yaml"], ["plan", "main.yaml"]):
        proc = cli(command, tmp_path, tmp_path / "cache")
        assert proc.returncode == 3, proc
        assert "could not reach http://127.0.0.1:1/lib.git" in proc.stdout + proc.stderr
    (tmp_path / "bin").mkdir()
    proc = cli(["validate", "main.yaml"], tmp_path, tmp_path / "cache", PATH=str(tmp_path / "bin"))
    assert proc.returncode == 2, proc
    assert proc.stdout.startswith("main.yaml:4:5: $.steps[0].uses: git source `git+http://127.0.0.1:1/lib.git//x.yaml@v1`"
                                  " is not in the cache and git is not installed"), proc.stdout
