"""`runner report` on bad input — an unknown run id, a journal still being written, a truncated
journal, a 100 MB transcript — and the size of a 1,000-step run's report; the GitHub step
summary's link and Mermaid DAG."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from report_runs import make_run

from runner.agents.inprocess import PythonAgent
from runner.api import apply
from runner.context import RunContext
from runner.journal import Journal
from runner.observe.html import TRANSCRIPT_LIMIT, render_report
from runner.observe.runmodel import load_model
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

RUNNER = str(Path(sys.executable).with_name("runner"))


def report(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([RUNNER, "report", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc


@pytest.fixture(scope="module")
def vote_run(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("vote")
    make_run(folder, "vote")
    return next((folder / ".runner" / "runs").iterdir())


def copy_run(run_dir: Path, tmp_path: Path) -> Path:
    target = tmp_path / ".runner" / "runs" / run_dir.name
    shutil.copytree(run_dir, target)
    return target


def test_an_unknown_run_id_is_a_clear_error(tmp_path):
    proc = report(tmp_path, "20990101-000000-nope")
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: no run '20990101-000000-nope' in {Path('.runner') / 'runs'} " \
                                  "(`runner runs list` shows the runs)"


@pytest.mark.pty
def test_the_report_is_written_beside_the_journal_or_where_asked(vote_run, tmp_path):
    run_dir = copy_run(vote_run, tmp_path)
    proc = report(tmp_path, run_dir.name[:12])
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"report of run {run_dir.name} (succeeded, 1 steps): {Path('.runner/runs') / run_dir.name / 'report.html'}\n"
    assert report(tmp_path, "latest", "--out", "out/r.html").returncode == 0
    assert (tmp_path / "out" / "r.html").read_text().startswith("<!DOCTYPE html>")
    proc = report(tmp_path, "latest", "--out", "/proc/nope/r.html")
    assert proc.returncode == 2 and proc.stderr.startswith("error: cannot write the report to /proc/nope/r.html")


def test_a_running_run_says_so_and_shows_what_is_journaled(tmp_path):
    run_dir = tmp_path / ".runner" / "runs" / "20260101-000000-live01"
    with Journal(run_dir) as journal:  # held open: the run is alive
        (run_dir / "run.json").write_text(json.dumps({"runId": run_dir.name, "pattern": "live", "plan": {"steps": [
            {"id": "a", "needs": []}, {"id": "b", "needs": ["a"]}]}}))
        journal.event("run_started", runId=run_dir.name, pattern="live", pool="p", inputs={})
        journal.event("step_started", step="a", agents=["x"])
        journal.event("attempt_started", step="a", attempt=1, agent="x", item=None, task="do a")
        proc = report(tmp_path, run_dir.name)
        assert proc.returncode == 0, proc.stderr
        assert "(running, 2 steps) (still running: complete up to now)" in proc.stdout
        page = (run_dir / "report.html").read_text()
        assert 'id="banner">This run is still running' in page
        assert 'data-step="a" data-state="running"' in page and 'data-step="b" data-state="pending"' in page
        assert 'data-outcome="running"' in page


@pytest.mark.pty
def test_a_truncated_journal_gives_a_correct_page(vote_run, tmp_path):
    run_dir = copy_run(vote_run, tmp_path)
    (run_dir / "result.json").unlink()
    events = (run_dir / "events.jsonl").read_bytes()
    cut = events.index(b'"event":"attempt_finished"') + 40  # mid-line, as a killed writer leaves it
    (run_dir / "events.jsonl").write_bytes(events[:cut])
    proc = report(tmp_path, run_dir.name)
    assert proc.returncode == 0, proc.stderr
    page = (run_dir / "report.html").read_text()
    assert 'id="banner">The journal ends without a result' in page
    assert page.rstrip().endswith("</html>")
    assert 'data-state="unfinished"' in page and 'data-step="decide" data-state="running"' in page


@pytest.mark.pty
def test_a_100_mb_transcript_is_cut_with_a_note_and_its_path(vote_run, tmp_path):
    run_dir = copy_run(vote_run, tmp_path)
    log = run_dir / "agents" / "nay.log"
    chunk = (b"x" * 1023 + b"\n") * 1024  # 1 MiB
    with open(log, "ab") as f:
        for _ in range(100):
            f.write(chunk)
        f.write(b"the very last line\n")
    assert log.stat().st_size > 100 * 1024 * 1024
    proc = report(tmp_path, run_dir.name)
    assert proc.returncode == 0, proc.stderr
    page_path = run_dir / "report.html"
    page = page_path.read_text()
    assert page_path.stat().st_size < 1_000_000
    assert "100.0 MiB in all: only the last 64.0 KiB is shown; the whole transcript is " \
           f"<code>{Path('.runner/runs') / run_dir.name / 'agents' / 'nay.log'}</code>" in page
    assert "the very last line" in page


def test_a_1000_step_report_stays_under_5_mb(tmp_path):
    steps = "".join(f"  - id: step_{i}\n    agents: {{capabilities: [work]}}\n    task: part {i} of the job\n"
                    + (f"    needs: [step_{i - 10}]\n" if i >= 10 else "") for i in range(1000))
    pattern = parse_pattern(f"name: big\nsteps:\n{steps}", "big.yaml")
    agent = PythonAgent("worker", lambda r: {"summary": "done: " + r.description * 20, "files": ["a.py", "b.py"]},
                        capabilities=("work",))
    ctx = RunContext(state_dir=tmp_path)
    outcome = apply(pattern, parse_pool("kind: pool\nname: bench\n", "pool.yaml"), {}, ctx=ctx, handles=[agent])
    assert outcome.exit_code == 0
    model = load_model(ctx.run_dir)
    assert len(model.steps) == 1000 and all(s.status == "succeeded" for s in model.steps.values())
    page = render_report(model)
    assert len(page.encode()) <= 5 * 1024 * 1024
    assert page.count('class="node succeeded"') == 1000 and page.count('class="bar ok"') == 1000


def test_the_transcript_limit_is_what_the_docs_say():
    assert TRANSCRIPT_LIMIT == 64 * 1024
    assert "64 KiB" in (Path(__file__).parents[2] / "docs" / "results.md").read_text()


@pytest.mark.pty
def test_the_github_summary_links_the_report_and_draws_the_dag(tmp_path):
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    folder = tmp_path / "run"
    folder.mkdir()
    from report_runs import PATTERNS, POOL

    (folder / "pool.yaml").write_text(json.dumps(POOL))
    (folder / "p.yaml").write_text(json.dumps(PATTERNS["retry"]))
    proc = subprocess.run([RUNNER, "apply", "p.yaml", "--pool", "pool.yaml", "--html", "out/report.html"],
                          cwd=folder, capture_output=True, text=True, timeout=90, env=env)
    assert proc.returncode == 1, proc.stderr
    summary = (tmp_path / "summary.md").read_text()
    assert "Report: [`out/report.html`](out/report.html)" in summary
    mermaid = summary.split("```mermaid\n", 1)[1].split("```", 1)[0]
    assert mermaid.splitlines()[:4] == ["flowchart TD", '  s0["flaky: failed"]:::failed',
                                        '  s1["after: cancelled"]:::cancelled', "  s0 --> s1"]
