"""Record the real CLIs' PTY output in each reachable state (run by hand, not a test).

    .venv/bin/python -m tests.helpers.record_screens claude codex gemini aider

Writes ``tests/data/screens/<cli>-<version>-<state>.jsonl`` (a header line, then
``{"t": seconds, "b64": raw bytes}`` chunks). Each file holds the output from the start up
to the moment the state showed (as told by the current detector), so a replay ends in it;
check the rendered screens by eye (``--show``) before committing a new recording.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from runner.agents.model import TaskRequest
from runner.agents.types import load_type
from runner.agents.types.screendrive import ScreenDriver
from runner.agents.types.screensession import CliSession
from runner.errors import AgentFailure
from tests.helpers.clis import definition, make_ctx
from tests.helpers.vendor_mock import VendorMock

OUT = Path(__file__).resolve().parents[1] / "data" / "screens"
KEY = {"RUNNER_TEST_KEY": "sk-test-0123456789abcdefghijklmn"}


def version(cli: str) -> str:
    t = load_type(cli)
    out = subprocess.run([t.find_binary(definition(cli, None)), "--version"], capture_output=True, text=True,
                         timeout=30).stdout
    return out.split()[-1] if cli == "aider" else out.split()[0].split("-")[-1] if cli != "codex" else out.split()[-1]


def session(cli: str, d, ctx, unseed: bool = False) -> CliSession:  # noqa: ANN001
    t = load_type(cli)
    spec = t.launch(d, None, ctx, "rec")
    home = Path(spec.env["HOME"])
    if unseed:  # undo the seeding that skips first-run dialogs
        if cli == "claude":  # onboarding done, but the folder not trusted yet
            cfg = home / ".claude.json"
            cfg.write_text(cfg.read_text().replace('"hasTrustDialogAccepted": true', '"hasTrustDialogAccepted": false'))
        elif cli == "codex":
            cfg = home / ".codex" / "config.toml"
            cfg.write_text(cfg.read_text().split("[projects.")[0])
        elif cli == "gemini":
            (home / ".gemini" / "trustedFolders.json").unlink()
        elif cli == "aider":
            spec = type(spec)(argv=tuple(a for a in spec.argv if a not in ("--analytics-disable", "--no-gitignore")), env=spec.env,
                              cwd=spec.cwd)
    return CliSession(spec, t.screen_detector(d))


def save(s: CliSession, cli: str, ver: str, state: str) -> None:
    path = OUT / f"{cli}-{ver}-{state}.jsonl"
    s.save(path, cli=cli, version=ver, state=state, lines=40)
    print(f"--- {path.name}: {s.detector.classify()}\n{s.detector.text()}\n")


def _wait_typed(s: CliSession, state: str, timeout: float = 40) -> None:
    """Like ``wait_for``, pressing Enter again when the table says a typed task may stick."""
    import time

    resubmit = s.detector.table.resubmit_after
    start = time.monotonic()
    while True:
        try:
            s.wait_for((state,), resubmit or timeout)
            return
        except AgentFailure:
            if not resubmit or time.monotonic() - start > timeout or s.detector.classify().state == "busy":
                raise
            s.send("\r")


def record(cli: str) -> None:
    ver = version(cli)
    tmp = Path(tempfile.mkdtemp())
    # 1. no credentials, seeded home: the login / missing-key screen
    s = session(cli, definition(cli, None, mode="long-lived", with_key=False), make_ctx(tmp / "a", {}))
    try:
        s.wait_for(("login_required",), 40)
        save(s, cli, ver, "login_required")
    except AgentFailure as exc:
        print(f"!!! {cli} login: {exc}\n{s.detector.text()}")
    finally:
        s.close()
    with VendorMock("tool", escalate=True) as mock:
        # 2. a key but an un-seeded home: the first-run dialog
        d = definition(cli, mock.url, mode="long-lived", approval="readonly" if cli == "codex" else "standard")
        s = session(cli, d, make_ctx(tmp / "b", KEY), unseed=True)
        try:
            s.wait_for(("dialog",), 40)
            save(s, cli, ver, "dialog")
        except AgentFailure as exc:
            print(f"!!! {cli} dialog: {exc}\n{s.detector.text()}")
        finally:
            s.close()
        # 3. seeded, against the mock: ready, busy, approval, done
        s = session(cli, d, make_ctx(tmp / "c", KEY))
        t = load_type(cli)
        try:
            s.wait_for(("ready",), 40)
            save(s, cli, ver, "ready")
            typed = t.format_task(d, TaskRequest(task_id="t", description="Create the file. TOKEN:quokka"))
            ScreenDriver(s.detector, True).type_task(s.send, typed)
            for state in ("busy", "approval"):
                _wait_typed(s, state)
                save(s, cli, ver, state)
            s.send(t.table(d).rule(s.detector.classify().rule).yes)
            s.wait_for(("done",) if cli != "gemini" else ("ready",), 40)
            save(s, cli, ver, "done")
        except AgentFailure as exc:
            print(f"!!! {cli} session: {exc}\n{s.detector.text()}")
        finally:
            s.close()
    with VendorMock("401") as mock:
        d = definition(cli, mock.url, mode="long-lived")
        s = session(cli, d, make_ctx(tmp / "d", KEY))
        t = load_type(cli)
        try:
            s.wait_for(("ready",), 40)
            ScreenDriver(s.detector, True).type_task(s.send, t.format_task(d, TaskRequest(task_id="t",
                                                                                        description="Say hi")))
            s.wait_for(("error",), 40)
            save(s, cli, ver, "error")
        except AgentFailure as exc:
            print(f"!!! {cli} error: {exc}\n{s.detector.text()}")
        finally:
            s.close()


if __name__ == "__main__":
    for name in sys.argv[1:]:
        record(name)
