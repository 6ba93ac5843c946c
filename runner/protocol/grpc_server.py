"""The gRPC flavour of the agent server (``runner.agent.v1.Agent``); grpc is imported lazily.

Status codes: UNAUTHENTICATED (token), RESOURCE_EXHAUSTED (busy), UNAVAILABLE (draining,
not ready), INVALID_ARGUMENT (bad request), ABORTED (the agent failed; trailing metadata
``runner-failure-kind`` names the FailureKind).
"""

from __future__ import annotations

import json
import queue
from collections.abc import Iterator
from concurrent import futures
from dataclasses import replace
from typing import Any, NoReturn

import grpc

from runner.agents.model import TaskRequest, TaskResult
from runner.errors import AgentFailure, FailureKind
from runner.observe import trace
from runner.protocol import agent_pb2, agent_pb2_grpc, wire
from runner.protocol.auth import authorized
from runner.protocol.service import AgentService, Busy, Unavailable
from runner.workspace.transfer import CHUNK, Archive, message_limit


class _Servicer(agent_pb2_grpc.AgentServicer):
    def __init__(self, service: AgentService, token: str | None) -> None:
        self.service = service
        self.token = token

    def _auth(self, context: grpc.ServicerContext) -> None:
        header = dict(context.invocation_metadata()).get("authorization")
        if not authorized(self.token, header if isinstance(header, str) else None):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")

    def _fail(self, context: grpc.ServicerContext, code: grpc.StatusCode, kind: FailureKind,
              message: str) -> NoReturn:
        context.set_trailing_metadata(((wire.FAILURE_KIND_KEY, kind.value),))
        context.abort(code, message)

    def ExecuteTask(self, request: Any, context: grpc.ServicerContext) -> Any:  # noqa: N802
        self._auth(context)
        if request.workspace_archive:  # an older caller's (protocol 2): not taken, whatever its size
            self._fail(context, grpc.StatusCode.INVALID_ARGUMENT, FailureKind.CONFIG, wire.INLINE_REFUSED)
        result = self._run(self._task(request, context), context)
        return _response(result)

    def ExecuteWorkspaceTask(self, parts: Iterator[Any], context: grpc.ServicerContext) -> Iterator[Any]:  # noqa: N802
        """Protocol 3: the task, then its workspace in parts; the result, then the change in parts."""
        self._auth(context)
        first = next(parts, None)
        if first is None or not first.HasField("task") or first.task.workspace_archive:
            self._fail(context, grpc.StatusCode.INVALID_ARGUMENT, FailureKind.CONFIG,
                       "bad request: the first part must carry the task (and no workspace_archive)")
        task = self._task(first.task, context)
        archive = Archive(source=_Parts(parts), cwd=first.task.workspace_cwd)
        result = self._run(replace(task, archive=archive), context)
        change = result.patch_file
        assert change is not None  # a task with an archive answers with its change
        with change:
            yield agent_pb2.WorkspaceResultPart(result=_response(result, has_change=True))
            while piece := change.read(CHUNK):
                yield agent_pb2.WorkspaceResultPart(change=piece)

    def _task(self, request: Any, context: grpc.ServicerContext) -> TaskRequest:
        try:
            data = json.loads(request.data) if request.data else {}
            if not isinstance(data, dict):
                raise ValueError("data is not a JSON object")
        except ValueError as exc:
            self._fail(context, grpc.StatusCode.INVALID_ARGUMENT, FailureKind.CONFIG, f"bad request: {exc}")
        return TaskRequest(task_id=request.task_id, description=request.description, data=data,
                           timeout=request.timeout_ms / 1000 if request.timeout_ms > 0 else None)

    def _run(self, task: TaskRequest, context: grpc.ServicerContext) -> TaskResult:
        # A caller that cancels the call (or whose deadline passes) cancels the task: the callback
        # runs when the RPC ends, also normally, when the task is no longer running (a no-op).
        context.add_callback(lambda: None if self.service.cancel(task.task_id) else None)
        try:
            return self.service.execute(task, trace_context=trace.extract(context.invocation_metadata()))
        except Busy as exc:
            self._fail(context, grpc.StatusCode.RESOURCE_EXHAUSTED, FailureKind.INFRASTRUCTURE, str(exc))
        except Unavailable as exc:
            self._fail(context, grpc.StatusCode.UNAVAILABLE, FailureKind.INFRASTRUCTURE, str(exc))
        except AgentFailure as exc:
            self._fail(context, grpc.StatusCode.ABORTED, exc.kind, str(exc))
        except Exception as exc:  # noqa: BLE001 - a bug in the agent must not kill the server
            self._fail(context, grpc.StatusCode.ABORTED, FailureKind.CRASH,
                       f"internal error: {type(exc).__name__}: {exc}")

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


def _response(result: TaskResult, *, has_change: bool = False) -> Any:
    return agent_pb2.ExecuteTaskResponse(
        task_id=result.task_id, result=json.dumps(result.result),
        confidence=result.confidence or 0.0, has_confidence=result.confidence is not None,
        reasoning=result.reasoning, output=result.output,
        usage=json.dumps(dict(result.usage)) if result.usage else "",
        has_change=has_change, denied=list(result.denied))


class _Parts:
    """The workspace parts of an ``ExecuteWorkspaceTask`` request as a readable stream: one part is
    taken from gRPC (flow-controlled) when the one before is used up, never more."""

    def __init__(self, parts: Iterator[Any]) -> None:
        self._parts = parts
        self._piece = b""
        self._at = 0

    def read(self, size: int = -1) -> bytes:
        while self._at >= len(self._piece):
            part = next(self._parts, None)
            if part is None:
                return b""
            self._piece, self._at = part.archive, 0
        end = len(self._piece) if size is None or size < 0 else self._at + size
        out = self._piece[self._at:end]
        self._at += len(out)
        return out


WINDOW = 256 << 10  # bytes a caller may send ahead of what the server has read, per stream


class GrpcAgentServer:
    """A started-on-demand gRPC server; ``port`` is the bound port (0 picks one)."""

    def __init__(self, service: AgentService, host: str, port: int, *, token: str | None = None,
                 tls: tuple[bytes, bytes] | None = None, workers: int = 32) -> None:
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="runner-grpc"),
                                   options=[("grpc.max_receive_message_length", message_limit()),
                                            ("grpc.max_send_message_length", message_limit()),
                                            # A stream's receive window stays fixed: auto-tuned (BDP) it
                                            # grew to the whole workspace, which gRPC then held in memory.
                                            ("grpc.http2.bdp_probe", 0),
                                            ("grpc.http2.lookahead_bytes", WINDOW)])
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
