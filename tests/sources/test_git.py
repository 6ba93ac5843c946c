"""git sources against real repositories (file://, plain paths): refs, the cache, bad input."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from gitrepo import git
from patternlib import commit, echo

from runner.errors import InfrastructureError, UsageError
from runner.sources import resolve
from runner.sources.git import parse


def test_parse_splits_url_path_and_ref() -> None:
    g = parse("git+https://user@example.com/a/lib.git//review/strict.yaml@v1.2")
    assert (g.url, g.path, g.rev) == ("https://user@example.com/a/lib.git", "review/strict.yaml", "v1.2")
    g = parse("git+file:///srv/lib//x.yaml@feature/new")
    assert (g.url, g.path, g.rev) == ("file:///srv/lib", "x.yaml", "feature/new")
    g = parse("git+../lib//x.yaml@main")
    assert (g.url, g.path, g.rev) == ("../lib", "x.yaml", "main")


@pytest.mark.parametrize(("ref", "message"), [
    ("git+file:///srv/lib//x.yaml", "names no ref"),
    ("git+ssh://git@host/lib.git//x.yaml", "names no ref"),
    ("git+file:///srv/lib/x.yaml@v1", "names no file in the repository"),
    ("git+file:///srv/lib//../x.yaml@v1", "is not a path inside the repository"),
])
def test_a_malformed_git_source_says_what_to_write(ref: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse(ref)


def test_tag_branch_and_sha_resolve_to_one_read_only_cache_entry(lib: Path, cache: Path, tmp_path: Path) -> None:
    sha = git(lib, "rev-parse", "HEAD").strip()
    by_tag = resolve(f"git+file://{lib}//lib/plain.yaml@v1", tmp_path)
    by_branch = resolve(f"git+{lib}//lib/plain.yaml@main", tmp_path)
    by_sha = resolve(f"git+file://{lib}//lib/plain.yaml@{sha}", tmp_path)
    assert by_tag.commit == by_branch.commit == by_sha.commit == sha
    assert by_tag.path == by_sha.path == cache / "git" / sha / "lib" / "plain.yaml"
    assert by_tag.path.read_text() == echo("plain")
    assert sorted(p.name for p in (cache / "git").iterdir()) == [sha]  # no staging folder left
    for p in [by_tag.path, by_tag.path.parent, cache / "git" / sha]:
        assert not stat.S_IMODE(p.stat().st_mode) & 0o222, p  # read-only once stored


def test_a_relative_repository_path_is_relative_to_the_calling_file(lib: Path, cache: Path, tmp_path: Path) -> None:
    caller = tmp_path / "project" / "sub"
    caller.mkdir(parents=True)
    ref = f"git+{os.path.relpath(lib, caller)}//lib/plain.yaml@v1"
    assert resolve(ref, caller).path.read_text() == echo("plain")


def test_a_moved_branch_is_fetched_again(lib: Path, cache: Path, tmp_path: Path) -> None:
    first = resolve(f"git+file://{lib}//lib/plain.yaml@main", tmp_path)
    second_sha = commit(lib, {"lib/plain.yaml": echo("two")})
    second = resolve(f"git+file://{lib}//lib/plain.yaml@main", tmp_path)
    assert (first.commit, second.commit) != (second_sha, first.commit) and second.commit == second_sha
    assert first.path.read_text() == echo("plain") and second.path.read_text() == echo("two")


def test_a_cached_sha_needs_no_git(lib: Path, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sha = git(lib, "rev-parse", "HEAD").strip()
    resolve(f"git+file://{lib}//lib/plain.yaml@{sha}", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    assert resolve(f"git+file://{lib}//lib/plain.yaml@{sha}", tmp_path).commit == sha
    with pytest.raises(UsageError, match="git is not installed"):  # a branch must ask the remote
        resolve(f"git+file://{lib}//lib/plain.yaml@main", tmp_path)


def test_a_relative_source_inside_a_git_tree_stays_inside(lib: Path, cache: Path, tmp_path: Path) -> None:
    from runner.sources.resolver import Resolver

    r = Resolver()
    outer = r.resolve(f"git+file://{lib}//lib/echo.yaml@v1", tmp_path)
    inner = r.resolve("./parts/inner.yaml", outer.path.parent)
    assert inner.origin == outer.ref and inner.path.read_text() == echo("inner")
    with pytest.raises(UsageError, match="points outside the source it is in"):
        r.resolve("../../../../x.yaml", outer.path.parent)


@pytest.mark.parametrize(("ref", "error", "message"), [
    ("git+file://{lib}//lib/plain.yaml@nope", UsageError, "ref does not resolve"),
    ("git+file://{lib}//lib/plain.yaml@" + "0" * 40, UsageError, "ref does not resolve"),
    ("git+file://{lib}//lib/missing.yaml@v1", UsageError, "has no file `lib/missing.yaml`"),
    ("git+{lib}-nonexistent//x.yaml@v1", UsageError, "no git repository at"),
    ("git+http://127.0.0.1:1/lib.git//x.yaml@v1", InfrastructureError, "could not reach http://127.0.0.1:1/lib.git"),
    ("git+http://me:s3cret@127.0.0.1:1/lib.git//x.yaml@v1", InfrastructureError, r"http://\*\*\*@127.0.0.1:1"),
])
def test_bad_git_sources_are_clear_errors(lib: Path, cache: Path, tmp_path: Path, ref: str, error: type,
                                          message: str) -> None:
    with pytest.raises(error, match=message) as caught:
        resolve(ref.format(lib=lib), tmp_path)
    assert "s3cret" not in str(caught.value)
    if "missing" not in ref:  # (that commit was fetched whole: the tree is cached, the file is not in it)
        assert not (cache / "git").exists() or not [p for p in (cache / "git").iterdir()]


def test_a_pattern_without_sources_imports_no_source_machinery(tmp_path: Path) -> None:
    """(issue 18) Loading a plain pattern file must not import git, hashing or lock modules."""
    import subprocess
    import sys

    (tmp_path / "p.yaml").write_text(echo("x"))
    code = ("import sys\nfrom runner.commands.common import load_pattern_arg\nfrom runner.sources.pins import pinned\n"
            "with pinned('p.yaml'):\n    load_pattern_arg('p.yaml')\n"
            "print(sorted(m for m in sys.modules if m.startswith('runner.sources') or m == 'tarfile'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    # model: the kinds' shared data (runner.sources.model), not machinery
    assert out.strip() == "['runner.sources', 'runner.sources.model', 'runner.sources.pins', 'runner.sources.resolver']"


@pytest.mark.parametrize("filters", [True, False], ids=["tarfile-filters", "python-before-3.11.4"])
def test_a_tree_with_a_link_out_of_it_is_refused_and_not_cached(tmp_path: Path, cache: Path, filters: bool,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import tarfile

    from gitrepo import make_repo

    if not filters:
        monkeypatch.delattr(tarfile, "data_filter")

    repo = make_repo(tmp_path / "evil", {"p.yaml": echo("x")})
    os.symlink("/etc/passwd", repo / "passwd.yaml")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "link")
    with pytest.raises(UsageError, match=r"is refused: .*passwd.yaml"):
        resolve(f"git+file://{repo}//p.yaml@main", tmp_path)
    assert [p.name for p in (cache / "git").iterdir()] == []


def test_without_a_session_a_relative_source_still_stays_inside_its_git_tree(lib: Path, cache: Path,
                                                                             tmp_path: Path) -> None:
    outer = resolve(f"git+file://{lib}//lib/echo.yaml@v1", tmp_path)  # each call: a new resolver
    assert resolve("./parts/inner.yaml", outer.path.parent).path.read_text() == echo("inner")
    with pytest.raises(UsageError, match="points outside the source it is in"):
        resolve("../../../../x.yaml", outer.path.parent)
