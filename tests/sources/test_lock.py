"""`runner lock` and the lock's checks in `apply`, `plan`, `validate`, run as a user runs them (the
console script); the checks of the lock's own bookkeeping (pins kept and moved, where the lock file
goes) run `lock` inside the test's process (``here``)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from e2e_run import assert_no_traceback, env, run, run_here
from gitrepo import git
from patternlib import commit, echo, make_dist, using

from runner.resources import builtin_pattern

pytestmark = pytest.mark.pty


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def cli(args: list[str], cwd: Path, cache: Path, here: bool = False, **extra: str):  # type: ignore[no-untyped-def]
    """`runner ARGS` with its own cache; ``here``: inside this process (``e2e_run.run_here``; not with
    a PYTHONPATH in ``extra``, which only a new interpreter reads)."""
    proc = (run_here if here else run)(args, cwd, env=env(RUNNER_CACHE_DIR=str(cache), **extra))
    assert_no_traceback(proc)
    return proc


def test_lock_pins_every_source_the_tree_reaches(lib: Path, tmp_path: Path) -> None:
    cache, project = tmp_path / "cache", tmp_path / "project"
    project.mkdir()
    echo_ref = f"git+file://{lib}//lib/echo.yaml@v1"
    (project / "main.yaml").write_text(using(echo_ref, "builtin:vote", "./local.yaml"))
    (project / "local.yaml").write_text(using(f"git+{lib}//lib/plain.yaml@main", name="local"))
    proc = cli(["lock", "main.yaml"], project, cache)
    assert proc.returncode == 0, proc.stderr
    sha = git(lib, "rev-parse", "v1").strip()
    tree = cache / "git" / sha / "lib"
    assert json.loads((project / "runner.lock").read_text()) == {
        "lockVersion": 1,
        "patterns": ["main.yaml"],
        "sources": {
            "builtin:vote": {"version": "0.1.0", "files": {"vote.yaml": sha256(builtin_pattern("vote"))}},
            echo_ref: {"commit": sha, "files": {"lib/echo.yaml": sha256(tree / "echo.yaml"),
                                                "lib/parts/inner.yaml": sha256(tree / "parts" / "inner.yaml")}},
            f"git+{lib}//lib/plain.yaml@main": {"commit": sha, "files": {"lib/plain.yaml": sha256(tree / "plain.yaml")}},
        },
    }
    assert f"{echo_ref}: pinned {sha} (2 files)" in proc.stdout
    again = cli(["lock"], project, cache, here=True)  # no argument: the patterns the lock lists
    assert again.returncode == 0 and f"{echo_ref}: kept {sha}" in again.stdout, again.stdout


def fake_bin(folder: Path, calls: Path) -> dict[str, str]:
    """A PATH with `sh` and `python3`, and a `git` that only records that it was called."""
    folder.mkdir()
    for tool in ("sh", "python3"):
        os.symlink(shutil.which(tool) or tool, folder / tool)
    (folder / "git").write_text(f"#!{sys.executable}\nimport sys\nopen({str(calls)!r}, 'a').write(' '.join(sys.argv) + '\\n')\n"
                                "sys.exit(1)\n")
    (folder / "git").chmod(0o755)
    return {"PATH": str(folder)}


def test_a_cold_apply_of_a_locked_cached_git_source_spawns_no_git(lib: Path, tmp_path: Path) -> None:
    cache, project, calls = tmp_path / "cache", tmp_path / "project", tmp_path / "git-calls"
    project.mkdir()
    ref = f"git+file://{lib}//lib/plain.yaml@main"
    assert cli(["lock", ref], project, cache).returncode == 0
    no_git = fake_bin(tmp_path / "bin", calls)
    proc = cli(["apply", ref, "-q"], project, cache, **no_git)
    assert proc.returncode == 0, proc.stderr
    assert "output said: plain" in proc.stdout
    assert not calls.exists(), calls.read_text()
    # the same with an empty cache must run git (so the check above can fail): a clear error
    proc = cli(["apply", ref, "-q"], project, tmp_path / "empty-cache", **no_git)
    assert proc.returncode == 2 and calls.read_text().startswith(str(no_git["PATH"]))


@pytest.mark.slow  # fast lane: locks: the other tests here, test_bad_input.py
def test_a_moved_ref_is_an_error_naming_both_commits_until_upgraded(lib: Path, tmp_path: Path) -> None:
    cache, project = tmp_path / "cache", tmp_path / "project"
    project.mkdir()
    ref = f"git+file://{lib}//lib/plain.yaml@v1"
    old = git(lib, "rev-parse", "v1").strip()
    assert cli(["lock", ref], project, cache).returncode == 0
    new = commit(lib, {"lib/plain.yaml": echo("two")})
    git(lib, "tag", "-f", "v1")
    assert cli(["plan", ref], project, cache).returncode == 0  # pinned commit, from the cache: no fetch
    shown = cli(["patterns", "show", ref], project, cache)
    assert shown.returncode == 0 and shown.stdout.startswith(f"lib-echo 1.0.0 ({ref})"), shown
    cold = tmp_path / "cold-cache"
    for command in (["plan", ref], ["patterns", "show", ref]):
        proc = cli(command, project, cold)
        assert proc.returncode == 2
        assert proc.stderr == (f"error: source `{ref}` moved: runner.lock pins commit {old}, the ref now resolves to "
                               f"{new} (`runner lock --upgrade {ref}` moves the pin)\n")
    # `--upgrade` takes an optional SOURCE: a pattern file after it is refused, not taken for one
    proc = cli(["lock", "--upgrade", "p.yaml"], project, cold)
    assert proc.returncode == 2 and "--upgrade p.yaml: not a pinned source" in proc.stderr, proc.stderr
    assert "`runner lock PATTERN... --upgrade`" in proc.stderr
    proc = cli(["lock", "--upgrade", ref], project, cold)
    assert proc.returncode == 0 and f"{ref}: moved from {old} to {new}" in proc.stdout, proc.stdout
    assert json.loads((project / "runner.lock").read_text())["sources"][ref]["commit"] == new
    proc = cli(["apply", ref, "-q"], project, cold)
    assert proc.returncode == 0 and "output said: two" in proc.stdout


def test_a_changed_package_file_is_an_error_naming_both_hashes(tmp_path: Path) -> None:
    cache, project = tmp_path / "cache", tmp_path / "project"
    project.mkdir()
    folder = make_dist(tmp_path / "site", {"review.yaml": echo("reviewed")})
    py = {"PYTHONPATH": str(tmp_path / "site")}
    (project / "main.yaml").write_text(using("pkg:acme-patterns/review"))
    assert cli(["lock", "main.yaml"], project, cache, **py).returncode == 0
    locked = json.loads((project / "runner.lock").read_text())["sources"]["pkg:acme-patterns/review"]
    assert locked == {"version": "1.0.0", "files": {"review.yaml": sha256(folder / "review.yaml")}}
    assert cli(["apply", "pkg:acme-patterns/review", "-q"], project, cache, **py).returncode == 0
    before = sha256(folder / "review.yaml")
    (folder / "review.yaml").write_text(echo("changed"))
    for command in (["validate", "main.yaml"], ["plan", "pkg:acme-patterns/review"]):
        proc = cli(command, project, cache, **py)
        assert proc.returncode == 2, proc
        message = (f"source `pkg:acme-patterns/review`: `review.yaml` changed: runner.lock has {before}, the file now "
                   f"has {sha256(folder / 'review.yaml')} (`runner lock --upgrade pkg:acme-patterns/review` accepts it)")
        assert message in proc.stdout + proc.stderr
    proc = cli(["validate", "main.yaml"], project, cache, **py)
    assert proc.stdout.startswith("main.yaml:4:5: $.steps[0].uses: source `pkg:acme-patterns/review`"), proc.stdout
    assert cli(["lock", "--upgrade", "pkg:acme-patterns/review"], project, cache, **py).returncode == 0
    assert cli(["plan", "pkg:acme-patterns/review"], project, cache, **py).returncode == 0


@pytest.mark.slow  # fast lane: locks: the other tests here, test_bad_input.py
def test_frozen_refuses_a_source_the_lock_does_not_pin(lib: Path, tmp_path: Path) -> None:
    cache, project = tmp_path / "cache", tmp_path / "project"
    project.mkdir()
    assert cli(["lock", f"git+file://{lib}//lib/plain.yaml@v1"], project, cache).returncode == 0
    other = f"git+file://{lib}//lib/plain.yaml@main"
    assert cli(["plan", other], project, cache).returncode == 0
    for command in (["plan", "--frozen", other], ["validate", "--frozen", other], ["apply", "--frozen", other]):
        proc = cli(command, project, cache)
        assert proc.returncode == 2, proc
        assert f"source `{other}` is not in runner.lock (--frozen refuses it; `runner lock` adds it)" in (
            proc.stdout + proc.stderr)
    assert cli(["plan", "--frozen", "builtin:vote"], tmp_path, cache).returncode == 2  # no lock at all


def test_upgrade_of_one_source_keeps_the_other_pins(lib: Path, tmp_path: Path) -> None:
    cache, project = tmp_path / "cache", tmp_path / "project"
    project.mkdir()
    a, b = f"git+file://{lib}//lib/plain.yaml@main", f"git+file://{lib}//lib/echo.yaml@main"
    (project / "main.yaml").write_text(using(a, b))
    old = git(lib, "rev-parse", "main").strip()
    assert cli(["lock", "main.yaml"], project, cache, here=True).returncode == 0
    new = commit(lib, {"lib/plain.yaml": echo("two")})
    assert cli(["lock", "main.yaml"], project, cache, here=True).returncode == 0  # no --upgrade: pins kept
    assert {k: v["commit"] for k, v in json.loads((project / "runner.lock").read_text())["sources"].items()} == {
        a: old, b: old}
    proc = cli(["lock", "--upgrade", a], project, cache, here=True)
    assert proc.returncode == 0, proc.stderr
    assert {k: v["commit"] for k, v in json.loads((project / "runner.lock").read_text())["sources"].items()} == {
        a: new, b: old}
    proc = cli(["lock", "--upgrade", "git+nope//x.yaml@v1"], project, cache, here=True)
    assert proc.returncode == 2 and "--upgrade git+nope//x.yaml@v1: no pattern of runner.lock uses that source" in (
        proc.stderr)


def test_the_lock_of_a_pattern_in_a_subfolder_sits_beside_it(lib: Path, tmp_path: Path) -> None:
    cache, project = tmp_path / "cache", tmp_path / "project"
    (project / "ci").mkdir(parents=True)
    ref = f"git+file://{lib}//lib/plain.yaml@v1"
    (project / "ci" / "main.yaml").write_text(using(ref))
    proc = cli(["lock", "ci/main.yaml", "--upgrade"], project, cache, here=True)
    assert proc.returncode == 0 and proc.stdout.endswith("wrote ci/runner.lock: 1 source\n"), proc.stdout
    assert not (project / "runner.lock").exists()
    lock = json.loads((project / "ci" / "runner.lock").read_text())
    assert lock["patterns"] == ["main.yaml"] and list(lock["sources"]) == [ref]
    (project / "ci" / "runner.lock").write_text("{")
    proc = cli(["validate", "ci/main.yaml"], project, cache, here=True)
    assert proc.returncode == 2 and proc.stdout.startswith("ci/runner.lock:1:2: $: corrupt lock file"), proc.stdout


@pytest.mark.slow  # fast lane: a cold cached apply: test_a_cold_apply_of_a_locked_cached_git_source_spawns_no_git
def test_a_locked_pattern_calling_git_sources_runs_cold_from_the_cache_without_git(lib: Path, tmp_path: Path) -> None:
    """The pattern's own `uses:` (composition) goes through the lock: pinned commit, no git process."""
    cache, project, calls = tmp_path / "cache", tmp_path / "project", tmp_path / "git-calls"
    project.mkdir()
    ref = f"git+file://{lib}//lib/echo.yaml@main"  # a branch: without the lock it would ask the remote
    (project / "main.yaml").write_text(using(ref) + "outputs:\n  said: \"{{ steps.s0.outputs.said }}\"\n")
    assert cli(["lock", "main.yaml"], project, cache).returncode == 0
    old = git(lib, "rev-parse", "main").strip()
    commit(lib, {"lib/echo.yaml": echo("moved")})  # the branch moves on; the lock still pins `old`
    no_git = fake_bin(tmp_path / "bin", calls)
    proc = cli(["apply", "main.yaml", "-q"], project, cache, **no_git)
    assert proc.returncode == 0, proc.stderr
    assert "output said: one" in proc.stdout, proc.stdout
    assert not calls.exists(), calls.read_text()
    assert cli(["validate", "--frozen", "main.yaml"], project, cache, **no_git).returncode == 0
    proc = cli(["plan", "main.yaml"], project, tmp_path / "cold", **no_git)  # not cached: git is needed
    assert proc.returncode == 2 and calls.exists()
    proc = cli(["plan", "main.yaml"], project, tmp_path / "cold")
    assert proc.returncode == 2 and f"runner.lock pins commit {old}, the ref now resolves to" in proc.stderr + proc.stdout
