"""Fuzzing of what a user writes about sources: any lock file gives a Lock or a placed SpecError,
any source ref gives a source or a RunnerError — never another exception.

Deterministic (``derandomize``) unless ``RUNNER_FUZZ_RANDOM=1``; ``RUNNER_FUZZ_EXAMPLES=N``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lanes import examples

from runner.errors import RunnerError, SpecError
from runner.sources.git import parse
from runner.sources.lockfile import Lock, read, render

FUZZ = settings(max_examples=int(os.environ.get("RUNNER_FUZZ_EXAMPLES", examples(300))),
                derandomize=not os.environ.get("RUNNER_FUZZ_RANDOM"), database=None, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

GOOD = {"lockVersion": 1, "patterns": ["main.yaml"], "sources": {
    "git+https://example.com/lib.git//review.yaml@v1": {
        "commit": "a" * 40, "files": {"review.yaml": "sha256:" + "b" * 64}},
    "pkg:acme/review": {"version": "1.0", "files": {"review.yaml": "sha256:" + "c" * 64}}}}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12)


def _index(key: str | int) -> int:
    return key if isinstance(key, int) else sum(map(ord, key))  # not hash(): that is salted per process


def _mutate(data: object, path: list[str | int], value: object) -> object:
    """``data`` with the value at the first steps of ``path`` that exist replaced by ``value``."""
    if not path or not isinstance(data, dict | list):
        return value
    key = path[0]
    if isinstance(data, dict) and data:
        k = sorted(data)[_index(key) % len(data)]
        return {**data, k: _mutate(data[k], path[1:], value)}
    if isinstance(data, list) and data:
        i = _index(key) % len(data)
        return [*data[:i], _mutate(data[i], path[1:], value), *data[i + 1:]]
    return value


@FUZZ
@given(path=st.lists(st.integers(0, 5) | st.text(max_size=3), max_size=5), value=json_values,
       cut=st.integers(0, 400), junk=st.binary(max_size=8))
def test_any_lock_file_reads_as_a_lock_or_a_placed_error(tmp_path: Path, path: list[str | int], value: object,
                                                           cut: int, junk: bytes) -> None:
    for text in (json.dumps(_mutate(GOOD, path, value)).encode(), render(["m.yaml"], {}).encode()[:cut] + junk):
        file = tmp_path / "runner.lock"
        file.write_bytes(text)
        try:
            assert isinstance(read(file), Lock)
        except SpecError as exc:
            assert exc.diagnostics and all(d.file == str(file) and d.path.startswith("$") for d in exc.diagnostics)


@FUZZ
@given(ref=st.text(max_size=60) | st.builds(lambda a, b, c: f"git+{a}//{b}@{c}", st.text(max_size=15),
                                             st.text(max_size=15), st.text(max_size=15)))
def test_any_git_ref_parses_or_is_a_usage_error(ref: str) -> None:
    try:
        g = parse("git+" + ref.removeprefix("git+"))
    except RunnerError:
        return
    assert g.url and g.path and g.rev and ".." not in g.path.split("/")


@FUZZ
@given(prefix=st.sampled_from(["", "./", "../", "builtin:", "pkg:", "pkg:acme/", "git+", "git+./nope//x.yaml@"]),
       rest=st.text(max_size=40))
def test_any_source_resolves_or_is_a_runner_error(tmp_path: Path, prefix: str, rest: str) -> None:
    """(no network: a git+ source here is a local path, which does not exist)"""
    from runner.sources import resolve

    ref = prefix + rest
    if ref.startswith("git+") and ("://" in ref or ":" in ref[4:].split("/", 1)[0]):
        return  # a URL or scp-like host: would ask the network
    try:
        source = resolve(ref, tmp_path)
    except RunnerError:
        return
    assert source.path.is_file()
