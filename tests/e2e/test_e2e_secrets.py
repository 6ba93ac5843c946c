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
