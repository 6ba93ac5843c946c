"""Agents that cannot get a workspace of their own fail the attempt as `config`, saying why;
a workspace step with a local command agent changes nothing outside its workspace."""

from __future__ import annotations

from pathlib import Path

from gitrepo import fingerprint, leftovers, make_repo

from runner.agents.inprocess import PythonAgent
from runner.api import apply
from runner.context import RunContext
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

POOL = parse_pool("kind: pool\nname: test\n", "pool.yaml")


def test_an_in_process_agent_in_a_workspace_step_is_a_config_failure(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"f.txt": "1\n"})
    before = fingerprint(repo)
    pattern = parse_pattern(f"name: ws\nsteps:\n  - id: s\n    agents: {{capabilities: [w]}}\n    task: go\n"
                            f"    workspace: {{from: {repo}}}\n", "p.yaml")
    outcome = apply(pattern, POOL, {}, ctx=RunContext(workdir=tmp_path, state_dir=tmp_path / "state"),
                    handles=[PythonAgent("py", lambda r: "done", capabilities=("w",))])
    assert outcome.exit_code == 2
    attempt = outcome.result["steps"][0]["attempts"][0]
    assert attempt["errorKind"] == "config"
    assert "step `s` has a workspace, but py is an agent handed in from Python" in attempt["error"]
    assert fingerprint(repo) == before and leftovers(repo) == ([], [])


def _command_pool(script: str):  # noqa: ANN202
    return parse_pool(f'kind: pool\nname: sh\nruntimes: [{{type: local}}]\nagents:\n'
                      f'  - {{id: sh, capabilities: [w], command: ["sh", "-c", {script!r}]}}\n', "pool.yaml")


def test_a_change_in_a_readonly_workspace_is_denied_and_requirechange_refuses_none(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"f.txt": "1\n"})
    before = fingerprint(repo)
    ctx = RunContext(workdir=tmp_path, state_dir=tmp_path / "state")
    readonly = parse_pattern(f"name: ro\nsteps:\n  - id: s\n    agents: {{capabilities: [w]}}\n    task: go\n"
                             f"    workspace: {{from: {repo}, mode: readonly}}\n", "p.yaml")
    outcome = apply(readonly, _command_pool("echo 2 > f.txt; echo wrote"), {}, ctx=ctx)
    attempt = outcome.result["steps"][0]["attempts"][0]
    assert (attempt["errorKind"], attempt["change"]["files"][0]["path"]) == ("denied", "f.txt")
    assert "changed 1 file(s) in a readonly workspace" in attempt["error"]
    required = parse_pattern(f"name: rc\nsteps:\n  - id: s\n    agents: {{capabilities: [w]}}\n    task: go\n"
                             f"    workspace: {{from: {repo}, requireChange: true}}\n", "p.yaml")
    outcome = apply(required, _command_pool("echo nothing to do"), {}, ctx=RunContext(
        workdir=tmp_path, state_dir=tmp_path / "state"))
    attempt = outcome.result["steps"][0]["attempts"][0]
    assert attempt["errorKind"] == "no-change" and attempt["change"]["empty"] is True
    assert fingerprint(repo) == before and leftovers(repo) == ([], [])
