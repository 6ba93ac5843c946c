"""The gRPC flavour of the agent server (``runner.agent.v1.Agent``); grpc is imported lazily.

Status codes: UNAUTHENTICATED (token), RESOURCE_EXHAUSTED (busy), UNAVAILABLE (draining,
not ready), INVALID_ARGUMENT (bad request), ABORTED (the agent failed; trailing metadata
``runner-failure-kind`` names the FailureKind).
"""

from __future__ import annotations

import json
import queue
from concurrent import futures
from typing import Any

import grpc

from runner.agents.model import TaskRequest
from runner.errors import AgentFailure, FailureKind
from runner.observe import trace
from runner.protocol import agent_pb2, agent_pb2_grpc, wire
from runner.protocol.auth import authorized
from runner.protocol.service import AgentService, Busy, Unavailable
from runner.workspace.transfer import Archive, message_limit


class _Servicer(agent_pb2_grpc.AgentServicer):
    def __init__(self, service: AgentService, token: str | None) -> None:
        self.service = service
        self.token = token

    def _auth(self, context: grpc.ServicerContext) -> None:
        header = dict(context.invocation_metadata()).get("authorization")
        if not authorized(self.token, header if isinstance(header, str) else None):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")

    def _fail(self, context: grpc.ServicerContext, code: grpc.StatusCode, kind: FailureKind,
              message: str) -> None:
        context.set_trailing_metadata(((wire.FAILURE_KIND_KEY, kind.value),))
        context.abort(code, message)

    def ExecuteTask(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self._auth(context)
        try:
            data = json.loads(request.data) if request.data else {}
            if not isinstance(data, dict):
                raise ValueError("data is not a JSON object")
        except ValueError as exc:
            self._fail(context, grpc.StatusCode.INVALID_ARGUMENT, FailureKind.CONFIG, f"bad request: {exc}")
        archive = Archive(data=request.workspace_archive, cwd=request.workspace_cwd) \
            if request.workspace_archive else None
        task = TaskRequest(task_id=request.task_id, description=request.description, data=data,
                           timeout=request.timeout_ms / 1000 if request.timeout_ms > 0 else None, archive=archive)
        # A caller that cancels the call (or whose deadline passes) cancels the task: the callback
        # runs when the RPC ends, also normally, when the task is no longer running (a no-op).
        context.add_callback(lambda: None if self.service.cancel(task.task_id) else None)
        try:
            result = self.service.execute(task, trace_context=trace.extract(context.invocation_metadata()))
        except Busy as exc:
            self._fail(context, grpc.StatusCode.RESOURCE_EXHAUSTED, FailureKind.INFRASTRUCTURE, str(exc))
        except Unavailable as exc:
            self._fail(context, grpc.StatusCode.UNAVAILABLE, FailureKind.INFRASTRUCTURE, str(exc))
        except AgentFailure as exc:
            self._fail(context, grpc.StatusCode.ABORTED, exc.kind, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug in the agent must not kill the server
            self._fail(context, grpc.StatusCode.ABORTED, FailureKind.CRASH,
                       f"internal error: {type(exc).__name__}: {exc}")
        return agent_pb2.ExecuteTaskResponse(
            task_id=result.task_id, result=json.dumps(result.result),
            confidence=result.confidence or 0.0, has_confidence=result.confidence is not None,
            reasoning=result.reasoning, output=result.output,
            usage=json.dumps(dict(result.usage)) if result.usage else "",
            change=result.patch or b"", has_change=result.patch is not None, denied=list(result.denied))

    def HealthCheck(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self._auth(context)
        h = self.service.health()
        return agent_pb2.HealthCheckResponse(
            healthy=h["healthy"], message=h["message"], state=h["state"],
            runtime_name=h["runtime"]["name"], runtime_type=h["runtime"]["type"],
            active_agents=h["runtime"]["activeAgents"], login_required=h["loginRequired"],
            instruction=h["instruction"], concurrency=h["concurrency"], active_tasks=h["activeTasks"],
            protocol_version=h["protocolVersion"], metrics=json.dumps(self.service.metrics()),
            agent_id=h["agent"]["id"], agent_name=h["agent"]["name"], capabilities=h["agent"]["capabilities"],
            max_workspace_bytes=h["maxWorkspaceBytes"])

    def StreamOutput(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self._auth(context)
        sub = self.service.subscribe(request.task_id)
        context.add_callback(sub.close)  # the client cancelled or went away
        try:
            while context.is_active():
                try:
                    item = sub.get(timeout=0.5)
                except queue.Empty:
                    continue
                if item is None:
                    return
                yield agent_pb2.OutputChunk(task_id=item[0], text=item[1])
        finally:
            sub.close()


class GrpcAgentServer:
    """A started-on-demand gRPC server; ``port`` is the bound port (0 picks one)."""

    def __init__(self, service: AgentService, host: str, port: int, *, token: str | None = None,
                 tls: tuple[bytes, bytes] | None = None, workers: int = 32) -> None:
        size = message_limit(service.max_workspace)  # a task brings its workspace, its reply the change
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="runner-grpc"),
                                   options=[("grpc.max_receive_message_length", size),
                                            ("grpc.max_send_message_length", size)])
        agent_pb2_grpc.add_AgentServicer_to_server(_Servicer(service, token), self._server)
        address = f"{host}:{port}"
        if tls is not None:
            creds = grpc.ssl_server_credentials([(tls[1], tls[0])])  # (key, cert) pairs
            self.port = self._server.add_secure_port(address, creds)
        else:
            self.port = self._server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"cannot listen for gRPC on {address}")
        self.host = host
        self.secure = tls is not None

    @property
    def url(self) -> str:
        return f"{'grpcs' if self.secure else 'grpc'}://{self.host}:{self.port}"

    def start(self) -> GrpcAgentServer:
        self._server.start()
        return self

    def stop(self, grace: float = 1.0) -> None:
        self._server.stop(grace).wait(grace + 1)
