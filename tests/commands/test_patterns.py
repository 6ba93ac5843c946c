"""`runner patterns list [DIR]` and `runner patterns show SOURCE`: each through the real CLI (a
subprocess, ``runner``) in one test, the rest of what they print inside the test's process (``here``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from e2e_run import run_here

from runner.resources import builtin_pattern, builtin_patterns

REPO = Path(__file__).resolve().parents[2]


def runner(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def here(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``runner`` inside this process (``e2e_run.run_here``): no new interpreter per command."""
    return run_here(list(args), cwd)


def test_list_shows_every_builtin_with_version_and_description(tmp_path: Path) -> None:
    done = runner("patterns", "list", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)["patterns"]
    assert [r["source"] for r in rows] == [f"builtin:{n}" for n in builtin_patterns()]
    assert {"builtin:vote", "builtin:judge", "builtin:map-reduce", "builtin:consensus-review",
            "builtin:critique-revise"} <= {r["source"] for r in rows}
    vote = next(r for r in rows if r["name"] == "vote")
    assert vote == {"source": "builtin:vote", "name": "vote", "version": "1.0.0",
                    "description": "Ask three agents the same question and return the majority answer."}
    text = runner("patterns", "list", cwd=tmp_path)
    assert text.returncode == 0
    assert re.search(r"^builtin:vote +1\.0\.0 +Ask three agents the same question", text.stdout, re.M), text.stdout


def test_list_a_directory_leaves_out_pools_and_flags_broken_files(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "mine.yml").write_text("name: mine\nversion: '2.1'\ndescription: Mine.\nsteps: [{id: a, task: go}]\n")
    (tmp_path / "pool.yaml").write_text("kind: pool\nname: p\nruntimes: [{type: local}]\n")
    done = here("patterns", "list", str(tmp_path), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    mine = [r for r in json.loads(done.stdout)["patterns"] if not r["source"].startswith("builtin:")]
    assert mine == [{"source": str(tmp_path / "sub" / "mine.yml"), "name": "mine", "version": "2.1",
                     "description": "Mine."}]
    (tmp_path / "bad.yaml").write_text("name: bad\nsteps: [{id: a, tsk: go}]\n")
    done = here("patterns", "list", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 2
    bad = re.escape(str(tmp_path / "bad.yaml"))
    assert re.search(rf"^{bad} +error: {bad}:2:\d+: \$\.steps\[0\]", done.stdout, re.M), done.stdout
    assert f"{tmp_path / 'sub' / 'mine.yml'}" in done.stdout and "Traceback" not in done.stderr


def test_show_text_lists_inputs_outputs_agents_and_steps(tmp_path: Path) -> None:
    done = runner("patterns", "show", "builtin:judge", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[:6] == [
        "judge 1.0.0 (builtin:judge)",
        "  Three agents answer a question; a judge agent picks the best answer and says why.",
        "inputs:",
        "  question: string, required — The question every candidate answers.",
        '  criteria: string, default "the most correct and complete answer" — What the judge looks for.',
        "outputs:",
    ]
    assert done.stdout.splitlines()[-3:] == ["steps (agents needed, aggregation, dependencies):",
                                             "  answer: 3 agents [answer], all",
                                             "  judge: 1 agent [judge], first, after answer"]


def test_show_json(tmp_path: Path) -> None:
    done = here("patterns", "show", "builtin:critique-revise", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["name"] == "critique-revise" and info["source"] == str(builtin_pattern("critique-revise"))
    assert info["inputs"][1] == {"name": "rounds", "type": "integer", "required": False, "default": 2, "min": 1,
                                 "max": 3, "description": "Critique-and-revise rounds after the first draft."}
    assert [o["name"] for o in info["outputs"]] == ["text", "draft", "rounds"]
    critique2 = next(s for s in info["steps"] if s["id"] == "critique2")
    assert critique2 == {"id": "critique2", "needs": ["revise1"], "aggregation": "all", "when": "inputs.rounds >= 2",
                         "forEach": None, "agents": {"capabilities": ["critique"], "min": 2, "max": 2}}
    map_step = json.loads(here("patterns", "show", "builtin:map-reduce", "--json", cwd=tmp_path).stdout)["steps"][0]
    assert map_step["forEach"] == "inputs.items"


def test_show_a_file(tmp_path: Path) -> None:
    done = here("patterns", "show", str(REPO / "tests/spec/data/valid/quality-gate.yaml"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("quality-gate 1.0.0 (")


def test_show_bad_input_is_a_clear_error_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "pool.yaml").write_text("kind: pool\nname: p\nruntimes: [{type: local}]\n")
    (tmp_path / "notes.yaml").write_text("- just\n- a list\n")
    cases = {
        ("builtin:juge",): "error: unknown built-in pattern `juge`: did you mean `judge`?\n",
        ("judge",): "error: pattern file not found: judge (did you mean `builtin:judge`?)\n",
        ("pool.yaml",): "error: pool.yaml is a pool file, not a pattern\n",
        (".",): "error: . is a directory, not a pattern (`runner patterns list .` lists it)\n",
    }
    for args, stderr in cases.items():
        done = here("patterns", "show", *args, cwd=tmp_path)
        assert (done.returncode, done.stderr, done.stdout) == (2, stderr, ""), args
    done = here("patterns", "show", "notes.yaml", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith("error: ") and "notes.yaml:1:1: $" in done.stderr
    assert "Traceback" not in done.stderr
    done = here("patterns", "list", "nowhere", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (2, "error: not a directory: nowhere\n")


def test_every_builtin_is_documented_and_described() -> None:
    from runner.spec import load_pattern

    doc = (REPO / "docs" / "library.md").read_text()
    for name in builtin_patterns():
        pattern = load_pattern(builtin_pattern(name))
        assert pattern.name == name and pattern.version != "0.1.0" and pattern.description, name
        assert all(i.description for i in pattern.inputs) and pattern.outputs, name
        assert f"## `builtin:{name}`" in doc and f"| `{name}` | {pattern.version} |" in doc, name
        assert f"runner apply builtin:{name} " in doc, name


def test_show_a_pattern_with_calls_names_what_each_call_runs(tmp_path: Path) -> None:
    done = here("patterns", "show", "builtin:route", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "  review: call builtin:consensus-review, after classify, when (steps.classify.output | string | trim " \
           "| lower) == 'review'" in lines
    assert "  review/round1: 3 agents [review], voting" in lines
    info = json.loads(here("patterns", "show", "builtin:route", "--json", cwd=tmp_path).stdout)
    steps = {s["id"]: s for s in info["steps"]}
    assert steps["writing"]["uses"] == "builtin:critique-revise" and "uses" not in steps["writing/draft"]
