"""Approval gates: a run waits at a step with `approval:` until `runner approve` decides."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from e2e_run import RUNNER, assert_no_traceback, env, events, run

from tests.helpers.polling import poll

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
    result = _result(tmp_path)
    deadline = _waited(tmp_path, result["runId"])["deadline"]
    assert result["steps"][1]["error"] == {"kind": "denied", "message": "step `deploy`: no approval within 1s "
                                                                        f"(timed out at {deadline})"}


def _waited(tmp_path: Path, run_id: str) -> dict:  # type: ignore[type-arg]
    """The run's `step_waiting` event of step deploy."""
    return next(e for e in events(tmp_path / ".runner" / "runs" / run_id) if e["event"] == "step_waiting")


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
    assert result["steps"][1]["waiting"] == {"message": "Deploy to production?",
                                             "deadline": _waited(tmp_path, run_id)["deadline"]}
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


def test_a_detached_gate_times_out_from_when_it_first_waited(tmp_path: Path) -> None:
    """The timeout is absolute: a runner that exited at the gate does not stop the clock. Past the
    deadline `runner runs` says expired, `runner approve` is refused (exit 2) and the resume denies."""
    (tmp_path / "gated.yaml").write_text(PATTERN % "1s")
    first = run(["apply", "gated.yaml", "-q", "-o", "r.json", "--detach-on-approval"], tmp_path)
    assert first.returncode == 75, first.stderr
    run_id = _result(tmp_path)["runId"]
    deadline = _waited(tmp_path, run_id)["deadline"]
    assert _result(tmp_path)["steps"][1]["waiting"] == {"message": "Deploy to production?", "deadline": deadline}
    assert f"decide by {deadline} with: runner approve {run_id} deploy" in first.stderr
    listed = json.loads(run(["runs", "list", "--json"], tmp_path).stdout)
    assert listed[0]["waiting"][0]["step"] == "deploy" and listed[0]["waiting"][0]["deadline"] == deadline

    # past the deadline (waited for as a condition: `runner runs show` says so)
    shown = poll(lambda: (p := run(["runs", "show", run_id], tmp_path)) and "expired" in p.stdout and p,
                 30, "the gate expired")
    assert f"deadline: expired at {deadline}: no decision in time, it counts as denied" in shown.stdout
    assert "decide with" not in shown.stdout
    table = run(["runs", "list"], tmp_path).stdout
    assert f"waiting (deploy expired at {deadline})" in table
    late = run(["approve", run_id, "deploy"], tmp_path)
    assert late.returncode == 2
    assert_no_traceback(late)
    assert late.stderr.strip().endswith(f"step deploy of run {run_id} timed out at {deadline} with no decision: "
                                        f"too late to decide (it counts as denied; `runner apply --resume {run_id}` "
                                        "fails it)")
    assert not (tmp_path / ".runner" / "runs" / run_id / "approvals").exists()  # nothing decided

    resumed = run(["apply", "--resume", run_id, "-q", "-o", "r2.json", "--detach-on-approval"], tmp_path)
    assert resumed.returncode == 1, resumed.stderr
    after = json.loads((tmp_path / "r2.json").read_text())
    assert [(s["id"], s["status"], s.get("reusedFrom")) for s in after["steps"]] == [
        ("build", "succeeded", run_id), ("deploy", "failed", None)]
    assert after["steps"][1]["error"] == {"kind": "denied", "message": "step `deploy`: no approval within 1s "
                                                                       f"(timed out at {deadline})"}
    journal = events(tmp_path / ".runner" / "runs" / after["runId"])
    assert not any(e["event"] == "step_waiting" for e in journal)  # too late: it did not wait again
    assert next(e for e in journal if e["event"] == "step_denied")["by"] == "timeout"


def test_a_resume_before_the_deadline_keeps_the_first_wait_deadline(tmp_path: Path) -> None:
    (tmp_path / "gated.yaml").write_text(PATTERN % "1h")
    first = run(["apply", "gated.yaml", "-q", "-o", "r.json", "--detach-on-approval"], tmp_path)
    assert first.returncode == 75, first.stderr
    run_id = _result(tmp_path)["runId"]
    deadline = _waited(tmp_path, run_id)["deadline"]
    shown = run(["runs", "show", run_id], tmp_path).stdout
    assert f"deadline: {deadline}\n  decide with: runner approve {run_id} deploy" in shown
    assert f"waiting (deploy until {deadline})" in run(["runs", "list"], tmp_path).stdout
    again = run(["apply", "--resume", run_id, "-q", "-o", "r2.json", "--detach-on-approval"], tmp_path)
    assert again.returncode == 75, again.stderr
    second = json.loads((tmp_path / "r2.json").read_text())["runId"]
    assert _waited(tmp_path, second)["deadline"] == deadline  # not an hour from the resume
    assert run(["approve", second, "deploy"], tmp_path).returncode == 0
    done = run(["apply", "--resume", second, "-q", "-o", "r3.json"], tmp_path)
    assert done.returncode == 0, done.stderr


def test_approve_after_a_live_timeout_is_refused_while_the_run_goes_on(tmp_path: Path) -> None:
    """The waiting runner denied the step at its deadline; the run still runs (another step has
    not finished), and a late `runner approve` says the gate timed out instead of deciding."""
    (tmp_path / "gated.yaml").write_text("""kind: pattern
name: gated
steps:
  - id: slow
    agents: {capabilities: [shell]}
    task: "while [ ! -f go ]; do sleep 0.05; done; echo went"
  - id: deploy
    approval: {message: "Deploy to production?", timeout: 1s}
    agents: {capabilities: [shell]}
    task: echo deployed
""")
    proc = subprocess.Popen([RUNNER, "apply", "gated.yaml", "-q", "-o", "r.json"], cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env())
    try:
        run_id = _waiting_run_id(proc)
        run_dir = tmp_path / ".runner" / "runs" / run_id
        denied = poll(lambda: next((e for e in events(run_dir) if e["event"] == "step_denied"), None),
                      30, "the runner denied the step at its deadline")
        assert denied["by"] == "timeout" and denied["deadline"] == _waited(tmp_path, run_id)["deadline"]
        late = run(["approve", run_id, "deploy"], tmp_path)
        assert late.returncode == 2, late.stdout + late.stderr
        assert late.stderr.strip().endswith(f"step deploy of run {run_id} timed out at {denied['deadline']} with no "
                                            "decision: too late to decide (it counts as denied)")
        assert not (run_dir / "approvals").exists()
    finally:
        (tmp_path / "go").write_text("")
        proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert _result(tmp_path)["steps"][1]["error"]["kind"] == "denied"
