"""Approval gates: a run waits at a step with `approval:` until `runner approve` decides."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from e2e_run import RUNNER, assert_no_traceback, env, events, run

pytestmark = pytest.mark.pty

PATTERN = """kind: pattern
name: gated
version: "1"
steps:
  - id: build
    agents: {capabilities: [shell]}
    task: echo built
  - id: deploy
    needs: [build]
    approval: {message: "Deploy to production?", timeout: %s}
    agents: {capabilities: [shell]}
    task: echo deployed
outputs:
  deployed: "{{ steps.deploy.output }}"
"""


def _start(tmp_path: Path, timeout: str = "60s", **extra: str) -> subprocess.Popen[str]:
    (tmp_path / "gated.yaml").write_text(PATTERN % timeout)
    return subprocess.Popen([RUNNER, "apply", "gated.yaml", "-q", "-o", "r.json"], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(**extra))


def _waiting_run_id(proc: subprocess.Popen[str]) -> str:
    assert proc.stderr is not None
    for line in proc.stderr:  # blocks until the run says it waits (or ends)
        m = re.match(r"waiting for approval of step deploy \(run (\S+)\): Deploy to production\?", line)
        if m:
            return m[1]
    raise AssertionError(f"the run never waited: exit {proc.wait()}")


def _result(tmp_path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((tmp_path / "r.json").read_text())


def test_an_approved_step_runs_after_the_decision(tmp_path: Path) -> None:
    proc = _start(tmp_path)
    run_id = _waiting_run_id(proc)
    decided = run(["approve", run_id, "deploy", "--comment", "ship it"], tmp_path)
    assert decided.returncode == 0, decided.stderr
    assert f"step deploy of run {run_id}: approved by" in decided.stdout
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert _result(tmp_path)["outputs"]["deployed"] == "deployed"
    journal = events(tmp_path / ".runner" / "runs" / run_id)
    names = [e["event"] for e in journal]
    assert names.index("step_waiting") < names.index("step_approved")
    assert next(e for e in journal if e["event"] == "step_approved")["comment"] == "ship it"


def test_a_denied_step_fails_with_kind_denied_and_exit_1(tmp_path: Path) -> None:
    proc = _start(tmp_path)
    run_id = _waiting_run_id(proc)
    assert run(["approve", run_id, "deploy", "--deny", "--comment", "not today"], tmp_path).returncode == 0
    proc.communicate(timeout=60)
    assert proc.returncode == 1
    step = _result(tmp_path)["steps"][1]
    assert step["status"] == "failed"
    assert step["error"]["kind"] == "denied"
    assert "was denied by" in step["error"]["message"] and step["error"]["message"].endswith(": not today")
    again = run(["approve", run_id, "deploy"], tmp_path)
    assert again.returncode == 2 and "not waiting for a decision" in again.stderr


def test_no_decision_before_the_timeout_is_a_denial(tmp_path: Path) -> None:
    proc = _start(tmp_path, timeout="1s")
    proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert _result(tmp_path)["steps"][1]["error"] == {"kind": "denied",
                                                      "message": "step `deploy`: no approval within 1s"}


def test_runner_approve_pre_approves_in_ci_and_bad_decisions_are_usage_errors(tmp_path: Path) -> None:
    proc = _start(tmp_path, RUNNER_APPROVE="deploy")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "waiting for approval" not in err
    assert _result(tmp_path)["outputs"]["deployed"] == "deployed"
    bad = run(["approve", "latest", "nosuch"], tmp_path)
    assert bad.returncode == 2
    assert_no_traceback(bad)
    assert "has no step 'nosuch' (its steps: build, deploy)" in bad.stderr


def test_detach_on_approval_exits_75_and_resume_continues_after_the_decision(tmp_path: Path) -> None:
    (tmp_path / "gated.yaml").write_text(PATTERN % "60s")
    first = run(["apply", "gated.yaml", "-q", "-o", "r.json", "--detach-on-approval", "--junit", "j.xml"], tmp_path)
    assert first.returncode == 75, first.stderr
    junit = (tmp_path / "j.xml").read_text()
    assert '<skipped message="waiting for approval: Deploy to production?"' in junit
    assert_no_traceback(first)
    result = _result(tmp_path)
    run_id = result["runId"]
    assert result["status"] == "waiting" and result["error"]["kind"] == "waiting"
    assert [(s["id"], s["status"]) for s in result["steps"]] == [("build", "succeeded"), ("deploy", "waiting")]
    assert result["steps"][1]["waiting"] == {"message": "Deploy to production?"}
    assert f"runner apply --resume {run_id}" in first.stderr
    shown = run(["runs", "show", run_id], tmp_path)
    assert "deploy  waiting" in shown.stdout and "waiting (deploy): Deploy to production?" in shown.stdout
    report = run(["report", run_id, "--out", "r.html"], tmp_path)
    assert report.returncode == 0, report.stderr
    page = (tmp_path / "r.html").read_text()
    assert 'class="pill waiting"' in page and "Deploy to production?" in page
    too_early = run(["apply", "--resume", run_id, "-q", "--detach-on-approval"], tmp_path)
    assert too_early.returncode == 75  # no decision yet: it waits (and exits) again

    decided = run(["approve", run_id, "deploy", "--comment", "go"], tmp_path)
    assert decided.returncode == 0, decided.stderr
    assert f"runner apply --resume {run_id}" in decided.stdout
    resumed = run(["apply", "--resume", run_id, "-q", "-o", "r2.json"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    after = json.loads((tmp_path / "r2.json").read_text())
    assert after["outputs"]["deployed"] == "deployed"
    assert [(s["id"], s.get("reusedFrom")) for s in after["steps"]] == [("build", run_id), ("deploy", None)]
    journal = events(tmp_path / ".runner" / "runs" / after["runId"])
    assert [e["by"] for e in journal if e["event"] == "step_approved"] != []
    assert not any(e["event"] == "step_waiting" for e in journal)  # decided already: it did not wait
