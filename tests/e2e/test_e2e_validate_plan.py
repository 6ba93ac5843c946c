"""`runner validate` and `runner plan` as a new user runs them (the installed console script)."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
from pathlib import Path

import psutil
import pytest
from e2e_run import RUNNER, agent_cmd, assert_no_traceback, env, run, write_yaml

pytestmark = pytest.mark.pty

BAD = """\
name: bad
steps:
  - id: a
    agents: {capabilities: [shell]}
    task: echo a
    neds: [b]
  - id: b
    agents: {capabilities: [shell], min: "three"}
    task: echo b
    needs: [c]
  - id: c
    agents: {capabilities: [shell]}
    task: echo c
    needs: [b]
  - id: d
    agents: {capabilities: [shell]}
    task: echo d
    needs: [nosuch]
"""


def test_validate_prints_every_error_with_its_place_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD)
    proc = run(["validate", "bad.yaml"], tmp_path)
    assert proc.returncode == 2
    assert_no_traceback(proc)
    assert proc.stdout + proc.stderr == (
        "bad.yaml:6:5: $.steps[0].neds: unknown key `neds` (did you mean `needs`?)\n"
        "bad.yaml:7:5: $.steps[1]: cycle: b -> c -> b\n"
        'bad.yaml:8:42: $.steps[1].agents.min: expected an integer, got string "three"\n'
        "bad.yaml:18:13: $.steps[3].needs[0]: unknown step `nosuch` (expected one of: `a`, `b`, `c`, `d`)\n"
        "4 errors in 1 file\n"
    )


def test_plan_shows_the_dag_and_the_agents_and_starts_nothing(tmp_path: Path) -> None:
    markers = [tmp_path / f"started-{i}" for i in range(3)] + [tmp_path / "started-tpl"]
    write_yaml(tmp_path / "pool.yaml", {"name": "p", "agents": [
        {"id": f"m{i}", "command": agent_cmd("marker", str(m)), "capabilities": ["mark"]}
        for i, m in enumerate(markers)], "templates": [
        {"name": "tpl", "command": agent_cmd("marker", str(tmp_path / "started-tpl")), "capabilities": ["later"]}]})
    write_yaml(tmp_path / "p.yaml", {"name": "planned", "steps": [
        {"id": "first", "agents": {"capabilities": ["mark"], "min": 3}, "task": "go",
         "aggregation": {"type": "voting", "method": "majority"}},
        {"id": "then", "agents": {"capabilities": ["later"]}, "task": "echo {{ steps.first.output }}"}]})
    # watch the runner process for children while it plans
    watched = subprocess.Popen([RUNNER, "plan", "p.yaml", "--pool", "pool.yaml"], cwd=tmp_path, env=env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: set[int] = set()
    with contextlib.suppress(psutil.NoSuchProcess):
        parent = psutil.Process(watched.pid)
        while watched.poll() is None:
            children |= {c.pid for c in parent.children(recursive=True)}
    assert watched.wait(timeout=30) == 0
    assert children == set(), "runner plan started a process"
    proc = run(["plan", "p.yaml", "--pool", "pool.yaml"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert_no_traceback(proc)
    out = proc.stdout
    for node in ("select:first", "execute:first", "aggregate:first", "select:then", "cleanup"):
        assert node in out
    assert re.search(r"select:first .*m0.*m1.*m2", out)
    assert re.search(r"spawn:then .*tpl", out)
    assert "nothing has been started" in out
    # the plan in JSON names the selected agents and what would be spawned
    proc = run(["plan", "p.yaml", "--pool", "pool.yaml", "--format", "json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert "first" in json.dumps(doc) and "m2" in json.dumps(doc)
    assert not any(m.exists() for m in markers), "runner plan started an agent program"
    assert not (tmp_path / ".runner" / "runs").exists() or not list((tmp_path / ".runner" / "runs").iterdir())


def test_validate_of_a_folder_without_yaml_files_is_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    proc = run(["validate", "empty"], tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == "empty: $: no pattern or pool file (*.yaml, *.yml) in this directory\n1 error in 1 file\n"


def test_validate_of_the_examples_checks_test_files_by_their_own_schema(tmp_path: Path) -> None:
    """README's `runner validate examples/`: a `*.test.yaml` beside a pattern is a test file
    (`runner test`), checked as one, not reported as a broken pattern."""
    root = Path(__file__).resolve().parents[2]
    proc = run(["validate", str(root / "examples")], cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"ok: .*consensus\.test\.yaml \(tests of .*pattern\.yaml, \d+ tests?\)", proc.stdout)
    (tmp_path / "bad.test.yaml").write_text("kind: test\npattern: x.yaml\ntests: 3\n")
    proc = run(["validate", str(tmp_path / "bad.test.yaml")], cwd=tmp_path)
    assert proc.returncode == 2
    assert "bad.test.yaml:3:8: $.tests: expected a list" in proc.stdout
    assert_no_traceback(proc)
