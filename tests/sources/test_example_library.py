"""examples/pattern-library, installed with pip into a fresh virtual environment, runs through
`pkg:` with the real CLI (offline: no dependency, no build isolation)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from e2e_run import REPO, assert_no_traceback, env

pytestmark = pytest.mark.pty


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv with examples/pattern-library pip-installed. runner itself (and pip, and the
    setuptools the library builds with) come from the test's environment, through a .pth file."""
    root = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    site = Path(subprocess.run([root / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "zz_runner_env.pth").write_text(f"import site; site.addsitedir({sysconfig.get_path('purelib')!r})\n")
    source = tmp_path_factory.mktemp("src") / "pattern-library"  # setuptools builds in the source tree
    shutil.copytree(REPO / "examples" / "pattern-library", source, ignore=shutil.ignore_patterns("__pycache__"))
    proc = subprocess.run([root / "bin" / "python", "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                           "--no-index", str(source)],
                          capture_output=True, text=True, env=env(), cwd=tmp_path_factory.mktemp("build"))
    assert proc.returncode == 0, proc.stderr
    assert (site / "acme_patterns" / "patterns" / "greet.yaml").is_file()  # installed, not read from the repo
    return root


def runner(venv: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([venv / "bin" / "python", "-m", "runner", *args], cwd=cwd, capture_output=True, text=True,
                          env=env(RUNNER_CACHE_DIR=str(cwd / "cache")), timeout=120)
    assert_no_traceback(proc)
    return proc


@pytest.mark.slow  # fast lane: pkg: sources: test_lock.py, test_bad_input.py
def test_the_installed_library_runs_through_pkg(venv: Path, tmp_path: Path) -> None:
    listed = runner(venv, ["patterns", "list", "--json"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = {r["source"]: r for r in json.loads(listed.stdout)["patterns"]}
    assert rows["pkg:acme-patterns/greet"]["name"] == "greet" and rows["pkg:acme-patterns/shout"]["version"] == "1.0.0"
    proc = runner(venv, ["apply", "pkg:acme-patterns/greet", "--input", "who=you", "-q"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "output greeting: hello, you" in proc.stdout
    proc = runner(venv, ["apply", "pkg:acme-patterns/shout", "--input", "word=hey", "-q"], tmp_path)
    assert proc.returncode == 0 and "output shouted: HEY" in proc.stdout, proc.stdout + proc.stderr
    assert runner(venv, ["lock", "pkg:acme-patterns/greet"], tmp_path).returncode == 0
    lock = json.loads((tmp_path / "runner.lock").read_text())
    assert list(lock["sources"]) == ["pkg:acme-patterns/greet"] and lock["sources"]["pkg:acme-patterns/greet"][
        "version"] == "1.0.0"
    assert runner(venv, ["apply", "--frozen", "pkg:acme-patterns/greet", "-q"], tmp_path).returncode == 0
    missing = runner(venv, ["apply", "pkg:acme-patterns/nope"], tmp_path)
    assert missing.returncode == 2 and "distribution `acme-patterns` has no pattern `nope` (it has `greet`, `shout`)" \
        in missing.stderr
