"""Per-call overhead of the agent protocols, as a ratio to a raw local call of the same handle.

    python bench/protocol_overhead.py [--calls N]

Two agents, each called three ways in one run (same process: client and server share the
GIL, so the numbers include both ends):

* ``noop``: an in-process handle that answers at once (pure protocol cost);
* ``repl``: a long-lived ``command`` agent (a tiny REPL in a real PTY, via LocalRuntime):
  what a real, already running agent costs per task.

``raw`` calls ``handle.execute`` directly; ``http`` / ``grpc`` go through the agent server
and the client handles the executor uses (keep-alive HTTP, one gRPC channel).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from runner.agents.handle import AgentHandle, Health, OutputCallback
from runner.agents.lifecycle import AgentState
from runner.agents.model import AgentInfo, TaskRequest, TaskResult
from runner.context import EventBus
from runner.protocol.connect import connect
from runner.protocol.grpc_server import GrpcAgentServer
from runner.protocol.http_server import HttpAgentServer
from runner.protocol.serve import ServeOptions, build_handle
from runner.protocol.service import AgentService
from runner.spec.models import AgentDef

REPL = """\
import json
while True:
    try:
        line = input("ready> ")
    except EOFError:
        break
    print(json.dumps({"result": line, "confidence": 1.0}), flush=True)
"""


class NoopHandle(AgentHandle):
    """Answers every task at once with its description (bench only)."""

    concurrency = 1

    def __init__(self) -> None:
        super().__init__(AgentInfo(id="noop", name="noop", type="noop"), EventBus(), AgentState.SPAWNED)

    def start(self) -> None:
        self.lifecycle.to(AgentState.STARTING)
        self.lifecycle.to(AgentState.READY)

    def execute(self, request: TaskRequest, on_output: OutputCallback | None = None) -> TaskResult:
        return TaskResult(task_id=request.task_id, result=request.description, confidence=1.0)

    def health(self) -> Health:
        return Health(healthy=True)

    def stop(self, force: bool = False) -> None:
        if self.lifecycle.stop_if_live():
            self.lifecycle.to(AgentState.STOPPED)


def per_call(fn: Callable[[TaskRequest], TaskResult], calls: int) -> float:
    """Median seconds per call over ``calls`` calls (after a short warm-up)."""
    for i in range(min(20, calls)):
        fn(TaskRequest(task_id=f"warm{i}", description="x", timeout=30))
    samples = []
    for i in range(calls):
        request = TaskRequest(task_id=f"t{i}", description="hello", timeout=30)
        started = time.perf_counter()
        fn(request)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def measure(name: str, handle: AgentHandle, calls: int) -> tuple[str, float, float, float]:
    service = AgentService(handle)
    service.start_agent()
    http = HttpAgentServer(service, "127.0.0.1", 0).start()
    grpc = GrpcAgentServer(service, "127.0.0.1", 0).start()
    clients = {}
    try:
        raw = per_call(handle.execute, calls)
        for proto, url in (("http", http.url), ("grpc", grpc.url)):
            client = connect(AgentInfo(id=name, name=name, type="command", endpoint=url), EventBus())
            client.start()
            clients[proto] = client
        return name, raw, per_call(clients["http"].execute, calls), per_call(clients["grpc"].execute, calls)
    finally:
        for client in clients.values():
            client.stop()
        service.drain(1.0)
        grpc.stop(0.2)
        http.stop(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    rows = [measure("noop", NoopHandle(), args.calls)]
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "repl.py"
        script.write_text(REPL)
        definition = AgentDef(type="command", command=(sys.executable, str(script)), mode="long-lived",
                              ready_pattern=r"ready> $")
        rows.append(measure("repl", build_handle(ServeOptions(definition=definition, agent_id="repl")),
                            args.calls))
    print(f"per-call median over {args.calls} calls (client and server in one process)")
    print(f"{'agent':6} {'raw':>10} {'http':>10} {'http/raw':>9} {'grpc':>10} {'grpc/raw':>9}"
          f" {'http+':>9} {'grpc+':>9}")
    for name, raw, http, grpc in rows:
        print(f"{name:6} {raw * 1e6:8.1f}us {http * 1e6:8.1f}us {http / raw:8.1f}x {grpc * 1e6:8.1f}us "
              f"{grpc / raw:8.1f}x {(http - raw) * 1e6:7.0f}us {(grpc - raw) * 1e6:7.0f}us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
