import io
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from runner.cli import main
from runner.commands.validate import validate

DATA = Path(__file__).parent / "data"
BROKEN = DATA / "invalid" / "broken.yaml"
BROKEN_LINES = [
    f"{BROKEN}:5:5: $.steps[0].neds: unknown key `neds` (did you mean `needs`?)",
    f"{BROKEN}:6:5: $.steps[1]: cycle: test -> package -> test",
    f'{BROKEN}:8:20: $.steps[1].retry.limit: expected an integer, got string "three"',
    f"{BROKEN}:12:19: $.steps[2].needs[1]: unknown step `deploy` (expected one of: `build`, `package`, `test`)",
]


def test_validate_function_reports_every_file():
    out = io.StringIO()
    assert validate([DATA], None, out) == 2
    assert out.getvalue().splitlines() == [
        *BROKEN_LINES,
        f"ok: {DATA / 'valid' / 'local-pool.yaml'} (pool local, 2 agents, 1 template)",
        f"ok: {DATA / 'valid' / 'quality-gate.yaml'} (pattern quality-gate, 3 steps)",
        "4 errors in 1 file",
    ]


def test_validate_ok_with_pool_and_each_file_once():
    out = io.StringIO()
    pool = DATA / "valid" / "local-pool.yaml"
    assert validate([DATA / "valid", DATA / "valid" / "quality-gate.yaml"], pool, out) == 0
    assert out.getvalue().splitlines() == [
        f"ok: {pool} (pool local, 2 agents, 1 template)",
        f"ok: {DATA / 'valid' / 'quality-gate.yaml'} (pattern quality-gate, 3 steps)",
    ]


def test_validate_checks_patterns_against_the_pool(tmp_path):
    out = io.StringIO()
    from runner.resources import builtin_pattern

    vote = builtin_pattern("vote")
    assert validate([vote, tmp_path / "missing.yml"], DATA / "valid" / "local-pool.yaml", out) == 2
    assert out.getvalue().splitlines() == [
        f"{vote}:14:14: $.steps[0].agents.capabilities: no agent or template of pool `local` has `vote`",
        f"{tmp_path / 'missing.yml'}: $: no such file",
        f"ok: {DATA / 'valid' / 'local-pool.yaml'} (pool local, 2 agents, 1 template)",
        "2 errors in 2 files",
    ]


def test_cli_runner_exit_code_and_output():
    result = CliRunner().invoke(main, ["validate", str(BROKEN)])
    assert result.exit_code == 2
    assert result.output.splitlines() == [*BROKEN_LINES, "4 errors in 1 file"]
    assert result.exception is None or isinstance(result.exception, SystemExit)


def _console_script() -> str:
    here = Path(sys.executable).parent / "runner"
    found = str(here) if here.exists() else shutil.which("runner")
    assert found, "the `runner` console script is not installed (pip install -e .)"
    return found


def test_installed_console_script_exits_2_without_traceback():
    proc = subprocess.run([_console_script(), "validate", str(BROKEN)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout.splitlines() == [*BROKEN_LINES, "4 errors in 1 file"]
    assert "Traceback" not in proc.stderr and proc.stderr == ""


def test_installed_console_script_ok():
    proc = subprocess.run([_console_script(), "validate", str(DATA / "valid")], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[-1] == f"ok: {DATA / 'valid' / 'quality-gate.yaml'} (pattern quality-gate, 3 steps)"


def test_builtin_names_are_accepted():
    result = CliRunner().invoke(main, ["validate", "builtin:vote"])
    assert result.exit_code == 0
    assert result.output.startswith("ok: ") and result.output.endswith("vote.yaml (pattern vote, 1 step)\n")
    result = CliRunner().invoke(main, ["validate", "builtin:nope"])
    assert result.exit_code == 2
    assert result.output == ("error: unknown built-in pattern `nope`: expected one of: `best-of-n`, `consensus-review`, "
                             "`critique-revise`, `implement-test-fix`, `judge`, `map-reduce`, `route`, `vote`\n")


def test_one_bad_file_does_not_hide_the_others(tmp_path):
    (tmp_path / "a-recursive.yaml").write_text("name: x\na: &r [*r]\nsteps: [{id: a, task: x}]\n")
    (tmp_path / "b-tag.yaml").write_text("name: x\nsteps: [{id: a, task: x, data: {v: !!int abc}}]\n")
    (tmp_path / "c-good.yaml").write_text("name: good\nsteps: [{id: a, task: x}]\n")
    out = io.StringIO()
    assert validate([tmp_path], None, out) == 2
    assert out.getvalue().splitlines() == [
        f"{tmp_path / 'a-recursive.yaml'}:2:8: $.a[0]: recursive alias: the anchored value contains this alias",
        f"{tmp_path / 'b-tag.yaml'}:2:36: $.steps[0].data.v: `abc` is not a valid `!!int` value",
        f"ok: {tmp_path / 'c-good.yaml'} (pattern good, 1 step)",
        "2 errors in 2 files",
    ]


def test_a_bug_in_one_file_still_reports_the_others(tmp_path, monkeypatch):
    import runner.commands.validate

    (tmp_path / "a.yaml").write_text("name: a\nsteps: [{id: a, task: x}]\n")
    (tmp_path / "b.yaml").write_text("name: b\nsteps: [{id: a, task: x}]\n")
    real = runner.commands.validate.load_file

    def load_file(path):
        if Path(path).name == "a.yaml":
            raise KeyError("boom")
        return real(path)

    monkeypatch.setattr(runner.commands.validate, "load_file", load_file)
    out = io.StringIO()
    assert validate([tmp_path], None, out) == 4
    assert out.getvalue().splitlines() == [
        f"{tmp_path / 'a.yaml'}: internal error (a bug in runner, please report it): KeyError: 'boom'",
        f"ok: {tmp_path / 'b.yaml'} (pattern b, 1 step)",
    ]
