import subprocess
import sys

import pytest

from runner.errors import SpecError
from runner.spec import Pattern, Pool, parse_file
from runner.spec.templates import Site


def test_kind_by_key_or_by_content():
    assert isinstance(parse_file("name: a\nsteps: [{id: s, task: t}]\n"), Pattern)
    assert isinstance(parse_file("name: a\nagents: [{id: x, command: [echo]}]\n"), Pool)
    assert isinstance(parse_file("kind: pool\nname: a\n"), Pool)
    with pytest.raises(SpecError) as exc:
        parse_file("kind: pattern\nname: a\nagents: []\n", "k.yaml")
    assert [d.render() for d in exc.value.diagnostics] == [
        "k.yaml:1:1: $: missing required key `steps`",
        "k.yaml:3:1: $.agents: unknown key `agents` (expected one of: `budget`, `concurrency`, `description`, `failFast`, "
        "`inputs`, `kind`, `name`, `outputs`, `steps`, `timeout`, `version`)",
    ]


def test_wrong_kind_value():
    with pytest.raises(SpecError) as exc:
        parse_file("kind: pipeline\nname: a\nsteps: [{id: s, task: t}]\n", "k.yaml")
    assert exc.value.diagnostics[0].render() == 'k.yaml:1:7: $.kind: expected pattern, got string "pipeline"'


def test_site_of_a_pool_key():
    pool = parse_file("kind: pool\nname: a\nagents:\n  - id: x\n    command: [echo]\n", "p.yaml")
    assert Site.of(pool, "$.agents[0].command") == Site("p.yaml", "$.agents[0].command", 5, 5)


def test_cli_import_stays_light():
    # `runner --help` must not pay for jsonschema / jinja2 (imported inside functions)
    code = "import sys, runner.cli; print(sorted(m for m in ('jsonschema', 'jinja2') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
