"""Every key the schemas allow is documented, and every YAML example of the docs loads (and runs,
when it is a pattern): keeps docs/ from drifting from schemas/ and from the code."""

import os
import re
import sys
from pathlib import Path

import pytest
import yaml

from runner.api import apply
from runner.context import RunContext
from runner.errors import SpecError
from runner.resources import schema
from runner.spec import load_file
from runner.spec.models import Pool
from runner.spec.pool import parse_pool

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _keys(node, out):
    if isinstance(node, dict):
        out.update(node.get("properties", {}))
        for value in node.values():
            _keys(value, out)
    elif isinstance(node, list):
        for value in node:
            _keys(value, out)
    return out


@pytest.mark.parametrize("name", ["pattern", "pool"])
def test_every_key_is_documented(name):
    text = (DOCS / f"{name}.md").read_text()
    missing = [k for k in sorted(_keys(schema(name), {})) if f"`{k}`" not in text and f"`backoff.{k}`" not in text
               and f"`resources.{k}`" not in text]
    assert missing == []


# ---------------------------------------------------------------- every YAML example
# A ```yaml block is a whole pattern or pool file, or starts with `# fragment of a pool file`
# (or `... pattern file`): then the keys a whole file needs are added at its end and it is
# loaded as that kind. Patterns are also run, on per-task `command` agents that echo the task.

REPO = DOCS.parent
FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<lang>[^\s`]*)[ \t]*$")
FRAGMENT = re.compile(r"^#\s*fragment of a (pool|pattern) file\s*$")
FILLERS = {"pool": {"kind": "kind: pool", "name": "name: docs-fragment"},
           "pattern": {"kind": "kind: pattern", "name": "name: docs-fragment",
                       "steps": "steps: [{id: docs_fragment, task: go}]"}}
ECHO = Path(__file__).resolve().parents[1] / "helpers" / "programs" / "answer_json.py"


def yaml_blocks() -> list[tuple[Path, int, str]]:
    """(doc, line of the block's first line, text) of every ```yaml block in README.md and docs/."""
    found = []
    for path in [REPO / "README.md", *sorted(DOCS.glob("*.md"))]:
        lines = path.read_text().splitlines()
        i = 0
        while i < len(lines):
            m = FENCE.match(lines[i])
            if not m:
                i += 1
                continue
            j = next(k for k in range(i + 1, len(lines)) if lines[k].strip() == "```")
            if m["lang"] in ("yaml", "yml"):
                body = [line[len(m["indent"]):] for line in lines[i + 1:j]]
                found.append((path, i + 2, "\n".join(body) + "\n"))
            i = j + 1
    return found


BLOCKS = yaml_blocks()


def load_block(doc: Path, first: int, text: str, tmp_path: Path):
    """The Pattern or Pool of one block; a failure names the doc's lines."""
    m = FRAGMENT.match(text.splitlines()[0])
    if m:
        have = yaml.safe_load(text) or {}
        assert isinstance(have, dict), f"{doc.name}:{first}: a fragment must be a mapping of top-level keys"
        text += "".join(line + "\n" for key, line in FILLERS[m[1]].items() if key not in have)
    path = tmp_path / "example.yaml"
    path.write_text(text)
    if m is None and (yaml.safe_load(text) or {}).get("kind") == "test":  # a `runner test` file
        from runner.spec.testfile import load_test_file

        try:
            return load_test_file(path)
        except SpecError as exc:
            raise AssertionError("\n".join(f"{doc.relative_to(REPO)}:{first + d.line - 1}: {d.path}: {d.message}"
                                           for d in exc.diagnostics)) from None
    try:
        loaded = load_file(path)
    except SpecError as exc:
        problems = [f"{doc.relative_to(REPO)}:{first + d.line - 1}: {d.path}: {d.message}" for d in exc.diagnostics]
        raise AssertionError("\n".join(problems)) from None
    kind = "pool" if isinstance(loaded, Pool) else "pattern"
    assert m is None or m[1] == kind, f"{doc.name}:{first}: marked a {m[1]} fragment, loads as a {kind}"
    return loaded


def test_the_docs_have_yaml_examples():
    assert len(BLOCKS) >= 10
    assert {p.name for p, _, _ in BLOCKS} >= {"pattern.md", "pool.md", "agent-clis.md", "execution.md"}


@pytest.mark.parametrize(("doc", "first", "text"), BLOCKS, ids=[f"{p.name}:{n}" for p, n, _ in BLOCKS])
def test_every_yaml_example_is_a_valid_file_or_a_marked_fragment(doc, first, text, tmp_path):
    load_block(doc, first, text, tmp_path)


PATTERNS = [b for b in BLOCKS if not FRAGMENT.match(b[2].splitlines()[0])
            and "steps" in (yaml.safe_load(b[2]) or {})]
SAMPLE = {"string": "sample", "number": 1.5, "integer": 2, "boolean": True, "array": ["a", "b"], "object": {}}


@pytest.mark.pty
@pytest.mark.parametrize(("doc", "first", "text"), PATTERNS, ids=[f"{p.name}:{n}" for p, n, _ in PATTERNS])
def test_every_pattern_example_runs_on_echo_agents(doc, first, text, tmp_path):
    pattern = load_block(doc, first, text, tmp_path)
    capabilities = sorted({c for s in pattern.steps for c in s.agents.capabilities})
    count = max(max(s.agents.min, s.agents.max or 0) for s in pattern.steps)
    agents = "".join(f"  - {{id: echo{n}, command: [{sys.executable}, {ECHO}], capabilities: {capabilities}}}\n"
                     for n in range(count))
    pool = parse_pool(f"kind: pool\nname: echo\nagents:\n{agents}", "pool.yaml")
    inputs = {i.name: SAMPLE[i.type] for i in pattern.inputs if i.required or i.type == "boolean"}
    ctx = RunContext(workdir=tmp_path, state_dir=tmp_path / "state", environ=dict(os.environ))
    outcome = apply(pattern, pool, inputs, ctx=ctx)
    assert outcome.exit_code == 0, outcome.result["error"]
    assert {s["status"] for s in outcome.result["steps"]} <= {"succeeded", "skipped"}
