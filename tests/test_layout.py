"""tests/ mirrors runner/: a test of ``runner/x/y.py`` lives in ``tests/x/``; suites that cross
rooms (real runs end to end, the lifecycle of agents) live in ``tests/e2e/``."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_ROOMS = {"e2e", "helpers", "data", "__pycache__"}  # cross-cutting suites, shared helpers, fixtures


def test_every_test_folder_is_a_room_of_runner():
    rooms = {p.name for p in (ROOT / "runner").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    folders = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert folders - NOT_ROOMS <= rooms, f"test folders with no runner/ package: {sorted(folders - NOT_ROOMS - rooms)}"


def test_no_test_module_sits_loose_in_tests():
    loose = sorted(p.name for p in (ROOT / "tests").glob("test_*.py") if p.name != Path(__file__).name)
    assert loose == [], f"put these beside the code they test (tests/<room>/): {loose}"
