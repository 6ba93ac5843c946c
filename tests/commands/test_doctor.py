"""``runner agents doctor``: the real CLIs, no credentials → installed, version, login screen."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from runner.commands.doctor import doctor, doctor_command

pytestmark = [pytest.mark.cli, pytest.mark.pty]


def test_doctor_reports_version_credentials_and_first_screen(capsys):
    assert doctor_command(("claude", "codex"), environ={"PATH": "/usr/bin:/bin"}) == 0
    out = capsys.readouterr().out
    assert "2.1.332" in out and "0.169.0" in out
    assert "credentials: none (missing ANTHROPIC_API_KEY)" in out
    assert "first screen: login_required Not logged in · run /login" in out
    assert "first screen: login_required > 1. Sign in with ChatGPT" in out


def test_doctor_rejects_an_unknown_type():
    result = CliRunner().invoke(doctor, ["--type", "cursor"])
    assert result.exit_code == 2 and "Invalid value for '--type'" in result.output
