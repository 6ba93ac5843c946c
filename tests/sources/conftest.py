"""Fixtures of the source tests: a library repository, and a cache folder of the test's own."""

from __future__ import annotations

from pathlib import Path

import pytest
from patternlib import make_lib


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("RUNNER_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def lib(tmp_path: Path) -> Path:
    return make_lib(tmp_path / "lib-repo")
