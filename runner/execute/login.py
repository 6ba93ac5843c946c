"""What a run does when an agent needs a login: the pool's ``login.onRequired`` policy.

``LoginHandler.handle`` is called by the step runner for an attempt that failed as
``login``; it returns the agent to retry on (the same agent, restarted), or None to let the
failure stand. It never waits for a human unless one is at a terminal: in CI (no TTY on
stdin, or ``CI`` set) ``notify`` prints the instruction once and the run ends with exit 3.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
from collections.abc import Callable
from typing import TextIO

from runner.agents.model import AgentInfo
from runner.errors import AgentFailure, FailureKind
from runner.execute.agents import AgentManager


def interactive() -> bool:
    """A human can answer: stdin is a terminal and this is not CI."""
    try:
        return sys.stdin.isatty() and not os.environ.get("CI")
    except (AttributeError, ValueError):
        return False


class LoginHandler:
    def __init__(self, manager: AgentManager, err: TextIO | None = None,
                 ask: Callable[[str], str] | None = None, is_interactive: Callable[[], bool] = interactive) -> None:
        self.manager = manager
        self.policy = manager.pool.login
        self.err = err or sys.stderr
        self.ask = ask or input
        self.is_interactive = is_interactive
        self._lock = threading.Lock()  # one prompt at a time; each agent handled once
        self._handled: set[str] = set()

    def handle(self, info: AgentInfo, failure: AgentFailure) -> AgentInfo | None:
        """The agent to retry the task on after ``failure`` (kind ``login``), or None."""
        if failure.kind is not FailureKind.LOGIN or self.policy.on_required == "fail":
            return None
        with self._lock:
            if info.id in self._handled:
                return None  # once per agent: a second login request is final
            self._handled.add(info.id)
            instruction = (failure.output or str(failure)).strip()
            if self.policy.on_required == "notify":
                return self._notify(info, instruction)
            return self._credentials(info)

    def _notify(self, info: AgentInfo, instruction: str) -> AgentInfo | None:
        self.err.write(f"agent {info.id} needs a login: {instruction}\n")
        self.err.flush()
        if not self.is_interactive():
            return None  # CI: nobody can log in; the step fails as `login` (exit 3)
        try:
            self.ask(f"log in for agent {info.id}, then press Enter to retry (Ctrl-C stops the run) ")
        except EOFError:
            return None
        self._restart(info)
        return info

    def _credentials(self, info: AgentInfo) -> AgentInfo | None:
        d = info.definition
        refs = dict(self.policy.credentials)
        values = self.manager.ctx.resolve_credentials(refs)
        if d is None or not refs or len(values) < len(refs):
            missing = sorted(v for k, v in refs.items() if k not in values)
            why = f"unset: {', '.join(missing)}" if missing else "no credentials to give it"
            self.err.write(f"agent {info.id} needs a login; login.credentials cannot help ({why})\n")
            return None
        fresh = dataclasses.replace(info, definition=dataclasses.replace(
            d, credentials={**d.credentials, **refs}))
        self._restart(info)
        return fresh

    def _restart(self, info: AgentInfo) -> None:
        handle = self.manager.handle(info.id)
        if handle is not None:  # the next acquire starts it afresh (with the new environment)
            self.manager.discard(handle, FailureKind.LOGIN, "restarted after a login")
