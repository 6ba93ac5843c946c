"""Helpers for the spec tests: write a YAML file, load it, get the rendered diagnostics."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runner.errors import SpecError
from runner.spec import load_file


@pytest.fixture
def problems(tmp_path, monkeypatch):
    """``problems(yaml_text)`` → the rendered diagnostics (``f.yaml:L:C: $.path: msg``) of that file."""
    monkeypatch.chdir(tmp_path)

    def run(text: str, name: str = "f.yaml") -> list[str]:
        Path(name).write_text(textwrap.dedent(text).lstrip("\n"))
        try:
            load_file(name)
        except SpecError as exc:
            return [d.render() for d in exc.diagnostics]
        return []

    return run
