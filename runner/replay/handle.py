"""An agent that answers from a cassette: ``runner apply --replay`` starts no process.

The executor sees an ordinary ``AgentHandle`` (same DAG, retries, aggregation and outputs);
its ``execute`` looks the task up by fingerprint and returns the recorded answer, raises the
recorded failure, or (``--replay-missing=run``) hands the task to the real agent.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

from runner.agents.handle import AgentHandle, Health, OutputCallback
from runner.agents.lifecycle import AgentState
from runner.agents.model import AgentInfo, TaskRequest, TaskResult
from runner.context import EventBus
from runner.errors import AgentFailure, FailureKind
from runner.replay.cassette import Cassette, key_of


def parse_task_id(task_id: str) -> tuple[str, int | None, int]:
    """(step, item, attempt) from the executor's ``run/step/item/slot/attempt`` task id (the step
    id of a called pattern's step has slashes itself: ``CALL/ID``)."""
    _run, rest = task_id.split("/", 1)
    step, item, _slot, attempt = rest.rsplit("/", 3)
    return step, (int(item) if item else None), int(attempt)


class CassetteHandle(AgentHandle):
    concurrency = 64  # answers from memory: as many tasks at once as the run allows

    def __init__(self, info: AgentInfo, bus: EventBus, cassette: Cassette,
                 fallback: Callable[[], AgentHandle] | None = None) -> None:
        super().__init__(info, bus, AgentState.READY)
        self.cassette = cassette
        self.fallback = fallback  # --replay-missing=run: the real agent, started on the first miss
        self._real: AgentHandle | None = None

    def start(self) -> None:
        return None

    def execute(self, request: TaskRequest, on_output: OutputCallback | None = None) -> TaskResult:
        step, item, attempt = parse_task_id(request.task_id)
        entry = self.cassette.take(key_of(step, item, request.description, self.info, attempt), self.info.id)
        if entry is None:
            if self.fallback is None:
                raise AgentFailure(FailureKind.CONFIG, self.cassette.missing(step, item, attempt, self.info),
                                   agent_id=self.info.id)
            if self._real is None:
                self._real = self.fallback()
            return self._real.execute(request, on_output)
        if entry.get("patch") and request.workspace:
            _apply_patch(entry["patch"], request.workspace, self.info.id)
        if "error" in entry:
            kind = entry["error"].get("kind") or "task"
            raise AgentFailure(FailureKind(kind) if kind in FailureKind._value2member_map_ else FailureKind.TASK,
                               str(entry["error"].get("message") or ""), agent_id=self.info.id)
        answer: dict[str, Any] = entry["answer"]
        return TaskResult(task_id=request.task_id, result=answer.get("result"), confidence=answer.get("confidence"),
                          reasoning=answer.get("reasoning") or "", usage=answer.get("usage") or {})

    def health(self) -> Health:
        return Health(healthy=True, message="replayed from a cassette")

    def stop(self, force: bool = False) -> None:
        if self._real is not None:
            self._real.stop(force=force)


def _apply_patch(patch: str, workspace: str, agent_id: str) -> None:
    """The recorded change, made again in the attempt's workspace (captured as if the agent made it)."""
    proc = subprocess.run(["git", "apply", "--whitespace=nowarn", "-"], input=patch.encode(), cwd=workspace,
                          capture_output=True, check=False)
    if proc.returncode != 0:
        raise AgentFailure(FailureKind.CONFIG, "the recorded change does not apply to this workspace: "
                           + proc.stderr.decode(errors="replace").strip()[:300], agent_id=agent_id)
