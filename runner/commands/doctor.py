"""``runner agents doctor [--type T]``: is each agent CLI installed, which version, are its
credentials present, and what does its first screen say (ready / login required / dialog /
error)? Starts each CLI once in a PTY with a throw-away seeded HOME and stops it again.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import click

from runner.agents.types import CLI_TYPES, load_type
from runner.agents.types.screensession import CliSession
from runner.context import RunContext
from runner.errors import AgentFailure, LoginRequired
from runner.spec.models import AgentDef

FIRST_SCREEN_TIMEOUT = 45.0


@dataclass(frozen=True, kw_only=True)
class Report:
    type: str
    binary: str | None
    version: str = ""
    credentials: tuple[str, ...] = ()  # env vars found
    missing: tuple[str, ...] = ()  # env vars looked for, not found
    screen: str = ""  # first screen state
    detail: str = ""

    def render(self) -> str:
        if self.binary is None:
            return f"{self.type:7} not installed (run .ci/setup-clis.sh or set options.binary)"
        creds = ", ".join(self.credentials) or "none"
        if self.missing:
            creds += f" (missing {', '.join(self.missing)})"
        return (f"{self.type:7} {self.version or '?':10} {self.binary}\n"
                f"        credentials: {creds}\n        first screen: {self.screen} {self.detail}".rstrip())


def check(name: str, environ: Mapping[str, str]) -> Report:
    """Probe one CLI type; never raises for the CLI's own problems (they are the report)."""
    t = load_type(name)
    env_vars = sorted({v for k, v in t.key_env.items() if k != "githubToken"})
    found = tuple(v for v in env_vars if environ.get(v))
    missing = tuple(v for v in env_vars if not environ.get(v))
    definition = AgentDef(type=name, mode="long-lived",
                          credentials={k: v for k, v in t.key_env.items() if environ.get(v)})
    binary = t.find_binary(definition)
    if binary is None:
        return Report(type=name, binary=None, missing=missing)
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
        version = (out.stdout.strip() or out.stderr.strip()).splitlines()[0] if out.returncode == 0 else ""
    except (OSError, subprocess.TimeoutExpired, IndexError):
        version = ""
    with tempfile.TemporaryDirectory(prefix="runner-doctor-") as tmp:
        work = Path(tmp) / "work"  # an empty folder: the CLIs write their files into it
        work.mkdir()
        ctx = RunContext(workdir=work, state_dir=Path(tmp) / "state", environ=dict(environ))
        session = None
        try:
            session = CliSession(t.launch(definition, None, ctx, f"doctor-{name}"), t.screen_detector(definition))
            c = session.wait_for(("ready", "login_required", "dialog", "error", "approval"), FIRST_SCREEN_TIMEOUT)
            screen, detail = c.state, c.text
        except LoginRequired as exc:  # known before starting (claude without a key)
            screen, detail = "login_required", exc.instruction
        except AgentFailure as exc:
            screen, detail = "error", str(exc)
        except Exception as exc:  # noqa: BLE001 - a diagnostic command reports, never crashes
            screen, detail = "error", f"{type(exc).__name__}: {exc}"
        finally:
            if session is not None:
                session.close(grace=1.0)
            t.cleanup(definition, ctx, f"doctor-{name}")
    return Report(type=name, binary=binary, version=version, credentials=found, missing=missing,
                  screen=screen, detail=" ".join(detail.split())[:200])


def doctor_command(types: tuple[str, ...], environ: Mapping[str, str] | None = None) -> int:
    """Print one report per type; exit 1 when any checked CLI is not installed."""
    environ = dict(os.environ) if environ is None else environ
    reports = [check(name, environ) for name in (types or CLI_TYPES)]
    for report in reports:
        click.echo(report.render())
    return 1 if any(r.binary is None for r in reports) else 0


@click.command("doctor")
@click.option("--type", "types", multiple=True, type=click.Choice(CLI_TYPES), help="Only this agent type.")
def doctor(types: tuple[str, ...]) -> int:
    """Check the agent CLIs: installed, version, credentials, first screen."""
    return doctor_command(types)
