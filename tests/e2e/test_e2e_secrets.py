"""A credential reference reaches the agent, but its value appears in no output of the run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e_run import agent_cmd, assert_no_traceback, env, run, write_yaml

pytestmark = pytest.mark.pty

SECRET = "e2e-Sup3rS3cret-7f3a9c1d5b"


def everything_written(root: Path) -> dict[str, str]:
    return {str(p): p.read_text(errors="replace") for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize(("fail", "code"), [((), 0), (("fail",), 1)], ids=["answer", "error"])
def test_a_secret_reaches_the_agent_and_no_output_of_the_run(tmp_path: Path, fail: tuple, code: int) -> None:
    seen = tmp_path / "seen.json"
    write_yaml(tmp_path / "pool.yaml", {"name": "p", "agents": [
        {"id": "keeper", "command": agent_cmd("secret", "AGENT_TOKEN", str(seen), *fail), "capabilities": ["secret"],
         "credentials": {"AGENT_TOKEN": {"env": "MY_SECRET"}}}]})
    write_yaml(tmp_path / "p.yaml", {"name": "secret", "steps": [
        {"id": "tell", "agents": {"capabilities": ["secret"]}, "task": "what is the token?"}],
        "outputs": {"said": "{{ steps.tell.output }}"}})
    proc = run(["apply", "p.yaml", "--pool", "pool.yaml", "-o", "out/result.json", "--html", "out/report.html"],
               tmp_path, env=env(MY_SECRET=SECRET))
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert_no_traceback(proc)
    assert json.loads(seen.read_text()) == {"set": True, "length": len(SECRET)}  # under the mapped name
    assert SECRET not in proc.stdout and SECRET not in proc.stderr
    assert run(["report", "latest"], tmp_path).returncode == 0  # the HTML report, made later from the journal
    files = {**everything_written(tmp_path / ".runner"), **everything_written(tmp_path / "out")}
    assert any(name.endswith("result.json") for name in files)
    assert sum(name.endswith("report.html") for name in files) == 2
    leaked = [name for name, text in files.items() if SECRET in text]
    assert leaked == []


def test_a_resumed_run_reads_its_secrets_again_from_the_environment(tmp_path: Path) -> None:
    """Secrets are never in the journal: `--resume` reads them from the environment again. A step
    that is reused needs none; an agent that starts again without one is a clear error (exit 2)."""
    seen, flag = tmp_path / "seen.json", tmp_path / "flag"
    write_yaml(tmp_path / "pool.yaml", {"name": "p", "agents": [
        {"id": "keeper", "command": agent_cmd("secret", "AGENT_TOKEN", str(seen)), "capabilities": ["secret"],
         "credentials": {"AGENT_TOKEN": {"env": "MY_SECRET"}}},
        {"id": "checker", "command": ["sh", "-c", f"read t; cat {flag}"], "capabilities": ["check"]}]})
    write_yaml(tmp_path / "p.yaml", {"name": "secret", "steps": [
        {"id": "tell", "agents": {"capabilities": ["secret"]}, "task": "what is the token?"},
        {"id": "check", "needs": ["tell"], "agents": {"capabilities": ["check"]}, "task": "check"},
        {"id": "again", "needs": ["check"], "agents": {"capabilities": ["secret"]}, "task": "and now?"}]})
    first = run(["apply", "p.yaml", "--pool", "pool.yaml", "-q", "-o", "r1.json"], tmp_path, env=env(MY_SECRET=SECRET))
    assert first.returncode == 1, first.stderr  # check fails: no flag file
    run_id = json.loads((tmp_path / "r1.json").read_text())["runId"]
    assert json.loads((tmp_path / ".runner" / "runs" / run_id / "run.json").read_text())["credentialEnv"] == \
        ["MY_SECRET"]  # the variable's name, never its value
    flag.write_text("ok\n")
    seen.unlink()

    missing = run(["apply", "--resume", run_id, "-q", "-o", "r2.json"], tmp_path)  # MY_SECRET not set
    assert missing.returncode == 2, missing.stdout + missing.stderr
    assert_no_traceback(missing)
    steps = {s["id"]: s for s in json.loads((tmp_path / "r2.json").read_text())["steps"]}
    assert steps["tell"]["reusedFrom"] == run_id and steps["check"]["status"] == "succeeded"  # no secret needed
    assert steps["again"]["error"]["kind"] == "config"
    assert ("keeper: $MY_SECRET not set: run " + run_id + " read this agent's credentials from it; secrets are "
            "never written to the journal, a resumed run reads them again from the environment") in missing.stderr
    assert not seen.exists()  # the agent never ran without its secret

    resumed = run(["apply", "--resume", run_id, "-q", "-o", "r3.json"], tmp_path, env=env(MY_SECRET=SECRET))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert json.loads(seen.read_text()) == {"set": True, "length": len(SECRET)}
    leaked = [name for name, text in everything_written(tmp_path / ".runner").items() if SECRET in text]
    assert leaked == [] and SECRET not in resumed.stdout + resumed.stderr
