"""The gRPC agent client (``grpc://`` plain, ``grpcs://`` TLS); imported only for those schemes.

Every call carries a deadline: health ``HEALTH_TIMEOUT``, a task its timeout plus
``READ_GRACE``. Status codes are mapped to FailureKinds as ``runner.protocol.client`` says.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import grpc

from runner.agents import usage
from runner.agents.handle import OutputCallback
from runner.agents.model import AgentInfo, TaskRequest, TaskResult
from runner.context import EventBus
from runner.errors import AgentFailure, FailureKind
from runner.observe import trace
from runner.protocol import agent_pb2, agent_pb2_grpc, wire
from runner.protocol.auth import AuthConfig, bearer
from runner.protocol.client import HEALTH_TIMEOUT, RemoteHandle
from runner.workspace.transfer import CHUNK, Archive, limit_from_env, message_limit, mib

C = grpc.StatusCode
_KINDS = {
    C.UNAVAILABLE: FailureKind.INFRASTRUCTURE,
    C.RESOURCE_EXHAUSTED: FailureKind.INFRASTRUCTURE,
    C.DEADLINE_EXCEEDED: FailureKind.TIMEOUT,
    C.UNAUTHENTICATED: FailureKind.CONFIG,
    C.PERMISSION_DENIED: FailureKind.CONFIG,
    C.UNIMPLEMENTED: FailureKind.CONFIG,
    C.INVALID_ARGUMENT: FailureKind.CONFIG,
    C.CANCELLED: FailureKind.CANCELLED,
    C.ABORTED: FailureKind.TASK,
}


class GrpcHandle(RemoteHandle):
    def __init__(self, info: AgentInfo, bus: EventBus, auth: AuthConfig | None) -> None:
        super().__init__(info, bus, auth)
        url = urlsplit(self.endpoint)
        secure = url.scheme.lower() == "grpcs"
        target = f"{url.hostname}:{url.port or (443 if secure else 80)}"
        size = message_limit()  # a workspace and its change travel in parts of CHUNK bytes
        options = [("grpc.max_send_message_length", size), ("grpc.max_receive_message_length", size)]
        if secure:
            ca = Path(self.auth.ca_file).read_bytes() if self.auth.ca_file else None
            self._channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates=ca),
                                                 options=options)
        else:
            self._channel = grpc.insecure_channel(target, options=options)
        self._stub = agent_pb2_grpc.AgentStub(self._channel)
        token = bearer(self.auth.token)
        self._metadata = (("authorization", token),) if token else ()
        self._calls: set[Any] = set()
        self._by_task: dict[str, Any] = {}  # task id -> its ExecuteTask call (to cancel one)
        self._calls_lock = threading.Lock()

    def _track(self, call: Any) -> Any:
        with self._calls_lock:
            self._calls.add(call)
        return call

    def _untrack(self, call: Any) -> None:
        with self._calls_lock:
            self._calls.discard(call)

    def _close(self) -> None:
        with self._calls_lock:
            calls = list(self._calls)
        for call in calls:
            call.cancel()
        self._channel.close()

    def _failure(self, exc: grpc.RpcError) -> AgentFailure:
        code = exc.code() if hasattr(exc, "code") else C.UNKNOWN
        details = (exc.details() if hasattr(exc, "details") else "") or ""
        trailing: dict[str, Any] = ({str(m.key): m.value for m in exc.trailing_metadata() or ()}
                                    if hasattr(exc, "trailing_metadata") else {})
        if code == C.UNAUTHENTICATED:
            return self.failure(FailureKind.CONFIG, "the agent refused the bearer token (UNAUTHENTICATED); "
                                "check the pool's auth settings")
        if code == C.RESOURCE_EXHAUSTED and "larger than max" in details:
            return self.failure(FailureKind.CONFIG, f"the request is larger than the agent server takes ({details}): "
                                "a workspace over its cap (runner agent serve --max-workspace)?")
        if code == C.RESOURCE_EXHAUSTED:
            return self.busy(details or code.name)
        if code == C.DEADLINE_EXCEEDED:
            return self.failure(FailureKind.TIMEOUT, "no reply before the deadline")
        if code == C.INTERNAL and "deserializ" in details.lower():
            return self.malformed(details)
        kind = _KINDS.get(code, FailureKind.INFRASTRUCTURE)
        if wire.FAILURE_KIND_KEY in trailing:
            kind = wire.failure_kind(trailing[wire.FAILURE_KIND_KEY], kind)
        return self.failure(kind, details or code.name)

    # ------------------------------------------------------------- contract

    def _call_health(self) -> dict:
        try:
            reply = self._stub.HealthCheck(agent_pb2.HealthCheckRequest(), timeout=HEALTH_TIMEOUT,
                                           metadata=self._metadata)
        except grpc.RpcError as exc:
            raise self._failure(exc) from exc
        try:
            metrics = json.loads(reply.metrics) if reply.metrics else {}
        except ValueError as exc:
            raise self.malformed(f"metrics are not JSON: {exc}") from exc
        return {"healthy": reply.healthy, "message": reply.message, "state": reply.state,
                "loginRequired": reply.login_required, "instruction": reply.instruction,
                "runtime": {"name": reply.runtime_name, "type": reply.runtime_type,
                            "activeAgents": reply.active_agents},
                "agent": {"id": reply.agent_id, "name": reply.agent_name,
                          "capabilities": list(reply.capabilities)},
                "concurrency": reply.concurrency, "activeTasks": reply.active_tasks,
                "protocolVersion": reply.protocol_version, "metrics": metrics,
                "maxWorkspaceBytes": reply.max_workspace_bytes or None}

    def _call_execute(self, request: TaskRequest, on_output: OutputCallback | None) -> TaskResult:
        message = agent_pb2.ExecuteTaskRequest(
            task_id=request.task_id, description=request.description, data=json.dumps(dict(request.data)),
            timeout_ms=int(request.timeout * 1000) if request.timeout else 0,
            workspace_cwd=request.archive.cwd if request.archive else "")
        deadline = request.timeout + self.grace(request) if request.timeout else None
        stream = self._follow(request.task_id, on_output) if on_output else None
        # The W3C trace context as metadata (nothing when tracing is off): the server's span joins the run's trace.
        metadata = self._metadata + tuple(trace.inject_headers({}).items())
        archive = request.archive
        with self._calls_lock:  # known by its task id before the server can report it running
            if archive is None:
                future = self._stub.ExecuteTask.future(message, timeout=deadline, metadata=metadata)
            else:  # protocol 3: the task, then the workspace in parts; the result, then the change
                future = self._stub.ExecuteWorkspaceTask(_parts(message, archive), timeout=deadline,
                                                         metadata=metadata)
            self._calls.add(future)
            self._by_task[request.task_id] = future
        patch = None
        try:
            if archive is None:
                reply = future.result()
            else:
                reply, patch = self._streamed_reply(future)
        except grpc.FutureCancelledError as exc:
            raise self.cancelled("the task was cancelled" if not self._stopped.is_set() else None) from exc
        except grpc.RpcError as exc:
            if hasattr(exc, "code") and exc.code() == C.CANCELLED:  # cancel() of this call
                raise self.cancelled("the task was cancelled") from exc
            raise self._failure(exc) from exc
        finally:
            with self._calls_lock:
                self._by_task.pop(request.task_id, None)
            self._untrack(future)
            if stream is not None:
                stream.join(2.0)
                stream.call.cancel()
        try:
            result = json.loads(reply.result)
        except ValueError as exc:
            raise self.malformed(f"`result` is not JSON: {reply.result[:80]!r}") from exc
        try:
            reported = usage.checked(json.loads(reply.usage)) if reply.usage else {}
        except ValueError as exc:
            raise self.malformed(f"`usage` is not a usage object: {exc}") from exc
        return TaskResult(task_id=reply.task_id, result=result,
                          confidence=reply.confidence if reply.has_confidence else None,
                          reasoning=reply.reasoning, output=reply.output, usage=reported,
                          patch=patch, denied=tuple(reply.denied))

    def _streamed_reply(self, call: Any) -> tuple[Any, bytes]:
        """The first part's result and the change gathered from the parts after it (the caller
        applies and captures it, as a local agent's); past the cap: cancelled, not read further."""
        first = next(call, None)
        if first is None or not first.HasField("result") or not first.result.has_change:
            call.cancel()
            raise self.malformed("the reply to a task with a workspace has no `change`")
        limit = limit_from_env()
        patch = bytearray()
        for part in call:
            patch += part.change
            if len(patch) > limit:
                call.cancel()
                raise self.malformed(f"the change is over the transfer cap of {mib(limit)}")
        return first.result, bytes(patch)

    def _call_cancel(self, task_id: str) -> bool:
        """Cancel the call: the server's callback cancels the task when its agent can (per-task
        mode); a long-lived agent finishes it unobserved."""
        with self._calls_lock:
            future = self._by_task.get(task_id)
        return future is not None and future.cancel()

    def _follow(self, task_id: str, on_output: OutputCallback) -> _Follow:
        call = self._stub.StreamOutput(agent_pb2.StreamOutputRequest(task_id=task_id),
                                       metadata=self._metadata)
        return _Follow(self._track(call), on_output, lambda: self._untrack(call))


def _parts(task: Any, archive: Archive) -> Iterator[Any]:
    """The request stream: the task, then the archive read from its file in parts (gRPC pulls
    them as the server takes them)."""
    yield agent_pb2.WorkspaceTaskPart(task=task)
    while piece := archive.source.read(CHUNK):
        yield agent_pb2.WorkspaceTaskPart(archive=piece)


class _Follow(threading.Thread):
    """Feeds one task's StreamOutput chunks to ``on_output`` (best effort)."""

    def __init__(self, call: Any, on_output: OutputCallback, done: Any) -> None:
        super().__init__(name="grpc-output", daemon=True)
        self.call = call
        self._on_output = on_output
        self._done = done
        self.start()

    def run(self) -> None:
        try:
            for chunk in self.call:
                self._on_output(chunk.text)
        except grpc.RpcError:
            pass  # cancelled or the server went away; the reply carries the transcript
        finally:
            self._done()
