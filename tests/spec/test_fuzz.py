"""Property-based fuzzing of the file layer: whatever a pattern or pool file contains, loading it
gives a model or a SpecError whose every diagnostic has a ``file:line:col``: never another
exception, never more than 2 s or 200 MB per document.

Documents are the real ones (examples/, patterns/, tests/spec/data/valid/, the YAML blocks of
README.md and docs/) mutated twice over: in the data (keys deleted or added, values replaced by
wrong types, huge numbers, unicode, deep nesting, hostile templates) and in the text (NUL and
control characters, duplicated lines, bad tags, anchors and alias bombs, truncation).

Deterministic in CI (``derandomize``, no example database): the same 1,000 documents each run,
so a failure reproduces (the fast lane, `make test-fast`, tries a fifth as many: ``lanes``).
``RUNNER_FUZZ_RANDOM=1`` explores new ones; ``RUNNER_FUZZ_EXAMPLES=N`` sets how many.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lanes import examples

from runner.errors import SpecError
from runner.spec import Pattern, Pool, parse_file

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "fuzz.yaml"
MAX_SECONDS = 2.0
MAX_BYTES = 200 * 1024 * 1024


def _seeds() -> list[str]:
    files = [*ROOT.glob("examples/*/*.yaml"), *ROOT.glob("patterns/*.yaml"), *ROOT.glob("tests/spec/data/valid/*.yaml")]
    texts = [f.read_text() for f in sorted(files)]
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        texts += re.findall(r"```yaml\n(.*?)```", doc.read_text(), re.S)
    found = []
    for text in texts:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        if isinstance(data, dict) and ("steps" in data or "agents" in data or "templates" in data):
            found.append(text)
    return found


SEEDS = _seeds()

HOSTILE_STRINGS = [
    "10000000h", "1e300", "720h", "721h", "-1", "0", "500m", "99999Ti", "", " ", "nosuch", "builtin:vote",
    "{{ inputs.x }}", "{{ steps.nosuch.output }}", "{{ ('a' * 10**9)|length }}", "{{ 'x'|center(10**9) }}",
    "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "{{", "{% for %}",
    "{{ ''.__class__.__mro__ }}", "{{ 7 ** 1000000 }}", "{{ " + "(" * 300 + "1" + ")" * 300 + " }}",
    "é", "\u202e", "\U0001f600" * 50, "\x00", "a\nb", "steps.a.output == 'x'", "inputs.items",
]
scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30), st.sampled_from([2**63, 10**300, -(10**300), 10**4000]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(HOSTILE_STRINGS),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.one_of(st.text(max_size=8), st.sampled_from(
        ["id", "task", "needs", "agents", "command", "timeout", "retry", "limit", "min", "max", "<<", "uses",
         "with"])), inner,
        max_size=4)), max_leaves=6)


def _paths(node: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [at]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*at, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*at, i))
    return out


def _get(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


@st.composite
def mutated_data(draw: st.DrawFn) -> Any:
    # positions and operations from one seeded Random (cheap to draw, deterministic under derandomize)
    rnd = draw(st.randoms(use_true_random=False))
    data = yaml.load(rnd.choice(SEEDS), Loader=yaml.CSafeLoader)
    for _ in range(rnd.randint(1, 3)):
        path = rnd.choice(_paths(data))
        if not path:
            continue
        parent, key = _get(data, path[:-1]), path[-1]
        op = rnd.choice(["delete", "replace", "replace", "add", "nest"])
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = draw(values)
        elif op == "add" and isinstance(parent, dict):
            parent[rnd.choice([*map(str, parent), "neds", "kind", "x", "options"]) + "_"] = draw(values)
        elif op == "add" and isinstance(parent, list):
            parent.append(draw(values))
        elif op == "nest":  # deep nesting below the YAML limit and beyond it
            value = parent[key]
            for _ in range(rnd.randint(1, 80)):
                value = [value]
            parent[key] = value
    return data


def _dump(data: Any, flow: bool) -> str:
    return yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True, default_flow_style=flow,
                     width=100)


BAD_TAGS = ["!!int abc", "!!timestamp 2001-13-45", "!!float x", "!!binary aGk=", "!env HOME", "!!set {a: 1}",
            "!!python/object/apply:os.system ['true']", "!!str", "!!null x", "!!bool maybe", "!!omap [a]"]
INSERTS = [
    "\nbomb0: &b0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"bomb{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 10)}]\n" for i in range(1, 8)),
    "\nrec: &r [*r]\n", "\nrecm: &m {a: *m}\n", "\ndeep: " + "[" * 600 + "]" * 600 + "\n",
    "\ndeepmap: " + "{a: " * 100 + "1" + "}" * 100 + "\n", "\nbig: " + "9" * 5000 + "\n",
    "\nanch: &a {x: 1}\nmerged: {<<: *a, y: 2}\nbadmerge: {<<: 3}\n", "\n? [complex, key]\n: v\n",
    "\n--- \nsecond: document\n", "\n%YAML 1.1\n", "\n\t tab: x\n",
]


@st.composite
def documents(draw: st.DrawFn) -> str:
    rnd = draw(st.randoms(use_true_random=False))
    text = _dump(draw(mutated_data()), rnd.random() < 0.5)
    for _ in range(rnd.randint(0, 3)):
        op = rnd.choice(["control", "dupline", "tag", "insert", "truncate", "alias", "unicode"])
        at = rnd.randint(0, len(text))
        if op == "control":
            text = text[:at] + chr(rnd.choice([0, 1, 7, 8, 0x1B, 0x7F, 0x85, 0xFFFE, 0xD7FF])) + text[at:]
        elif op == "dupline":
            lines = text.splitlines(keepends=True)
            i = rnd.randint(0, max(0, len(lines) - 1))
            text = "".join(lines[: i + 1] + lines[i:i + 1] + lines[i + 1:])
        elif op == "tag":
            spots = [m.end() for m in re.finditer(r": ", text)]
            if spots:
                spot = rnd.choice(spots)
                text = text[:spot] + rnd.choice(BAD_TAGS) + " " + text[spot:].split("\n", 1)[-1]
        elif op == "insert":
            text = text + rnd.choice(INSERTS)
        elif op == "truncate":
            text = text[:at]
        elif op == "alias":  # an anchor on one value, an alias in place of a later one
            spots = [m.end() for m in re.finditer(r": (?=\S)", text)]
            if len(spots) >= 2:
                i = rnd.randint(0, len(spots) - 2)
                j = rnd.randint(i + 1, len(spots) - 1)
                end = text.find("\n", spots[j])
                text = text[:spots[i]] + "&z " + text[spots[i]:spots[j]] + "*z" + (text[end:] if end >= 0 else "")
        elif op == "unicode":
            text = text[:at] + draw(st.text(min_size=1, max_size=5)) + text[at:]
    return text


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def check_document(text: str, baseline: int = 0) -> None:
    """The property: a model or a SpecError with placed, one-line diagnostics; bounded cost
    (memory: the process's peak never grows by more than MAX_BYTES over ``baseline``)."""
    # CPU time of this thread, not the wall clock: what a document costs, whatever else the
    # machine runs (a shared 2-core machine made wall-clock bounds fail on innocent documents)
    started = time.thread_time()
    try:
        spec = parse_file(text, SOURCE)
    except SpecError as exc:
        assert exc.diagnostics
        for d in exc.diagnostics:
            assert d.file == SOURCE and d.line > 0 and d.col > 0, d
            assert d.message and "\n" not in d.render() and "\r" not in d.render(), d
    else:
        assert isinstance(spec, Pattern | Pool)
    assert time.thread_time() - started <= MAX_SECONDS
    if baseline:
        assert _peak_rss() - baseline <= MAX_BYTES


@pytest.fixture(scope="module")
def baseline() -> int:
    """The peak RSS once imports and caches are warm: the limits are for a document, not start-up."""
    for text in SEEDS:
        with contextlib.suppress(SpecError):
            parse_file(text, SOURCE)
    return _peak_rss()


FUZZ = settings(
    max_examples=int(os.environ.get("RUNNER_FUZZ_EXAMPLES", examples(1000))),
    derandomize=not os.environ.get("RUNNER_FUZZ_RANDOM"), database=None, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def test_the_seeds_are_real_documents(baseline):
    assert len(SEEDS) >= 8
    for text in SEEDS:
        check_document(text, baseline)


# ~10 s of CPU for the 1,000 documents; the wider limit is for a machine shared with other jobs
@pytest.mark.timeout(300)
@FUZZ
@given(documents())
def test_loading_any_document_gives_a_model_or_placed_errors(baseline, text):
    check_document(text, baseline)


def test_the_validate_command_on_hostile_files(tmp_path):
    """A few documents through the real `runner validate DIR`: exit 2, no traceback, every file
    reported (one bad file does not hide the others), every line placed."""
    head = "name: x\nsteps: [{id: a, task: x}]\n"
    bad = {f"{i:02d}.yaml": head + insert for i, insert in enumerate(INSERTS[:7])}
    bad.update({"nul.yaml": "name: x\x00\n", "tag.yaml": head + "v: !!int abc\n",
                "time.yaml": head.replace("task: x", "task: x, timeout: 10000000h"),
                # calls (`uses:`): a missing source, a name no file system takes, a cycle across two
                # files (reported where it closes), an input the callee does not have, a pool as callee
                "uses-gone.yaml": "name: x\nsteps: [{id: a, uses: ./gone.yaml}]\n",
                "uses-nul.yaml": 'name: x\nsteps: [{id: a, uses: "./\\0"}]\n',
                "uses-cycle-a.yaml": "name: a\nsteps: [{id: a, uses: ./uses-cycle-b.yaml}]\n",
                "uses-cycle-b.yaml": "name: b\nsteps: [{id: b, uses: ./uses-cycle-a.yaml}]\n",
                "uses-input.yaml": "name: x\nsteps: [{id: a, uses: 'builtin:vote', with: {questio: x}}]\n",
                "uses-pool.yaml": "name: x\nsteps: [{id: a, uses: ./zz-pool.yaml}]\n"})
    (tmp_path / "zz-pool.yaml").write_text("kind: pool\nname: p\nagents: [{id: a, command: [x]}]\n")
    for name, text in bad.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "zz-good.yaml").write_text("name: good\nsteps: [{id: a, task: x}]\n")
    proc = subprocess.run([str(Path(sys.executable).with_name("runner")), "validate", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    placed = re.compile(rf"^{re.escape(str(tmp_path))}/([\w-]+\.yaml):[1-9]\d*:[1-9]\d*: \$\S*: .+$")
    reported = {m.group(1) for m in map(placed.match, lines) if m}
    assert reported == set(bad), proc.stdout
    assert f"ok: {tmp_path / 'zz-good.yaml'} (pattern good, 1 step)" in lines
    assert any(line.endswith(": cycle of `uses`: uses-cycle-a.yaml -> uses-cycle-b.yaml -> uses-cycle-a.yaml")
               for line in lines), proc.stdout
    assert all(placed.match(line) or line.startswith("ok: ") for line in lines[:-1]), proc.stdout
    assert re.fullmatch(rf"\d+ errors in {len(bad)} files", lines[-1])
