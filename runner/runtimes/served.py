"""What the docker and kubernetes handles share: their agent runs inside an agent server they
started (a container, a pod), reached with the protocol client once the server answers."""

from __future__ import annotations

from typing import Any

from runner.agents.handle import AgentHandle, Health


class ServedHandle(AgentHandle):
    """Cancels and health checks go to the agent server inside (``POST /cancel``, ``/health``)."""

    _client: Any = None  # the protocol's HTTP or gRPC handle, once the server answers

    def cancel(self, task_id: str) -> bool:
        client = self._client
        return client is not None and client.cancel(task_id)

    def health(self) -> Health:
        client = self._client
        if client is None:
            return Health(healthy=False, message=self._not_started())
        return client.health()

    def _not_started(self) -> str:
        return f"agent is {self.state.value}"
