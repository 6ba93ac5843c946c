"""``LocalHandle``: one agent program on this machine, driven through a real PTY.

Per-task agents start one ``PtySession`` per task (several may run at once); long-lived agents
keep one session and take one task at a time. What goes wrong maps to ``FailureKind``s:

=======================================  ==============================================
program not on PATH / not executable     INFRASTRUCTURE (from ``start``)
login text seen                          LOGIN (+ ``login_required`` event; ``start``
                                         raises ``LoginRequired``). Per-task: only if the
                                         program then stops (no output for ``login_idle``
                                         s, or an exit without a JSON/marker answer)
process died mid-task (killed / EOF)     CRASH
``request.timeout`` exceeded             TIMEOUT (process group killed)
no output for ``request.inactivity``     HANG (process group killed)
non-zero exit, no parsable answer        TASK
unparsable answer                        PARSE
``stop()`` during the task               CANCELLED
=======================================  ==============================================
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

from runner.agents.handle import AgentHandle, Health, OutputCallback
from runner.agents.lifecycle import AgentState
from runner.agents.model import AgentInfo, TaskRequest, TaskResult
from runner.agents.parse import has_structured_answer
from runner.agents.pty import (
    Hit,
    PtyCancelled,
    PtyEOF,
    PtyInactive,
    PtySession,
    PtySpawnError,
    PtyTimeout,
    build_env,
)
from runner.agents.types.base import LaunchSpec
from runner.errors import AgentFailure, FailureKind, LoginRequired, RunnerError, as_failure
from runner.runtimes.local_outcomes import (
    clean_output,
    drop_echo,
    failure,
    login_instruction,
    time_left,
)
from runner.runtimes.local_program import resolve_program

if TYPE_CHECKING:
    from runner.agents.types.screendrive import ScreenDriver
    from runner.runtimes.local import LocalRuntime

S = AgentState
# Failures after which a long-lived session is gone (it was killed or died).
_SESSION_LOST = {FailureKind.CRASH, FailureKind.TIMEOUT, FailureKind.HANG, FailureKind.LOGIN,
                 FailureKind.INFRASTRUCTURE}
_CANCEL = object()  # a per-task task cancelled before its program started


class LocalHandle(AgentHandle):
    """A spawned local agent; made by ``LocalRuntime.spawn``, state ``spawned``."""

    def __init__(self, info: AgentInfo, runtime: LocalRuntime) -> None:
        super().__init__(info, runtime.ctx.bus, S.SPAWNED)
        assert info.definition is not None
        self.runtime = runtime
        self.ctx = runtime.ctx
        self.definition = info.definition
        self.agent_type = runtime.agent_type(self.definition.type)
        self.detectors = self.agent_type.detectors(self.definition)
        self.long_lived = self.definition.mode == "long-lived"
        opts = runtime.option
        self.concurrency = 1 if self.long_lived else int(opts("max_parallel", 64))
        self.grace = float(opts("grace", 3.0))
        self.login_idle = float(opts("login_idle", 3.0))
        self.max_transcript = int(opts("max_transcript", 4_000_000))
        own = self.definition.options
        self.start_timeout = float(own.get("start_timeout", own.get("startTimeout", opts("start_timeout", 60.0))))
        self._lock = threading.RLock()  # state transitions and the session set
        self._exec_lock = threading.Lock()  # long-lived: one task at a time
        self._sessions: set[PtySession] = set()
        # per-task mode: each running task's session (None until it is open; _CANCEL: cancelled before)
        self._task_sessions: dict[str, PtySession | object | None] = {}
        self._task_cpu = 0.0  # per-task mode: CPU seconds of the finished task programs
        self._task_peak_rss = 0  # per-task mode: the largest resident size of one (bytes)
        self._session: PtySession | None = None  # long-lived
        self._task_output: Callable[[str], None] | None = None
        self._program: str | None = None
        self._active = 0
        self._broken: AgentFailure | None = None
        self._stopping = False
        self._started_at = 0.0
        self._tasks_done = 0
        # Full-screen CLIs (claude, codex, gemini, aider) are read from their rendered screen:
        # the type provides ``screen_detector``; None for plain programs (regex detectors).
        self.screen: ScreenDriver | None = None

    # ------------------------------------------------------------ lifecycle

    def _to(self, new: AgentState, allowed: set[AgentState], detail: str = "") -> bool:
        with self._lock:
            if self.state not in allowed:
                return False
            self.lifecycle.to(new, detail)
            return True

    def start(self) -> None:
        """Check the program (per-task) or start the session and wait for its prompt."""
        with self._lock:
            if self.state in (S.READY, S.BUSY):
                return
            if self._stopping or self.state in (S.STOPPING, S.STOPPED):
                raise AgentFailure(FailureKind.CANCELLED, "the agent was stopped", agent_id=self.id)
            self.lifecycle.to(S.STARTING)
        try:
            self._program = resolve_program(self.agent_type, self.definition, self.ctx, self.id)
            if self.long_lived:
                stale = self._session
                if stale is not None:  # a restart after an error: never two sessions
                    self._close(stale, 0.0)
                self._start_session()
        except (AgentFailure, LoginRequired) as exc:
            if isinstance(exc, LoginRequired) and exc.__cause__ is None:
                # seen on the screen, or known before starting (the type's launch raised it)
                self.lifecycle.emit("login_required", detail=exc.instruction)
            self._to(S.ERROR, {S.STARTING}, str(exc))
            raise
        if not self._to(S.READY, {S.STARTING}):
            raise AgentFailure(FailureKind.CANCELLED, "the agent was stopped while starting",
                               agent_id=self.id)
        self._started_at = time.monotonic()

    def stop(self, force: bool = False) -> None:
        """Graceful (SIGTERM, ``grace`` seconds) or forced (SIGKILL) stop; idempotent."""
        with self._lock:
            self._stopping = True
            if not self.lifecycle.stop_if_live():
                return
            sessions = list(self._sessions)
        grace = 0.0 if force else self.grace
        closers = [threading.Thread(target=s.close, args=(grace,), daemon=True) for s in sessions]
        for t in closers:
            t.start()
        for t in closers:
            t.join()
        try:
            self.agent_type.cleanup(self.definition, self.ctx, self.id)  # e.g. a CLI's seeded config home
        except OSError:
            pass  # teardown problems are not the task's failure
        with self._lock:
            self._session = None
            self.lifecycle.to(S.STOPPED)

    def health(self) -> Health:
        session = self._session
        state = self.state
        if self.long_lived:
            alive = bool(session and session.alive)
        else:  # nothing runs between tasks: healthy while the program is still there
            program = self._program
            alive = program is not None and (os.sep not in program or os.access(program, os.X_OK))
        healthy = state in (S.READY, S.BUSY) and alive
        metrics = {"uptime": time.monotonic() - self._started_at if self._started_at else 0.0,
                   "messageCount": self._tasks_done, "active": self._active}
        if session is not None and session.pid:
            metrics["pid"] = session.pid
        elif not self.long_lived and self._task_peak_rss:  # no process between tasks: what they used
            metrics.update(cpu=self._task_cpu, memory=self._task_peak_rss)
        return Health(healthy=healthy, message="" if healthy else f"agent is {state.value}",
                      metrics=metrics)

    # ------------------------------------------------------------ execute

    def execute(self, request: TaskRequest, on_output: OutputCallback | None = None) -> TaskResult:
        # CLIs may retry or wait forever, or sit silent (a hang): their type's limits apply
        timeout = self.agent_type.task_timeout(self.definition) if request.timeout is None else request.timeout
        inactivity = request.inactivity
        if inactivity is None:
            inactivity = self.agent_type.stall_timeout(self.definition)
        if (timeout, inactivity) != (request.timeout, request.inactivity):  # (a copy per task otherwise)
            request = dataclasses.replace(request, timeout=timeout, inactivity=inactivity)
        with self._lock:
            if self._stopping or self.state in (S.STOPPING, S.STOPPED):
                raise AgentFailure(FailureKind.CANCELLED, "the agent was stopped", agent_id=self.id)
            if self.state not in (S.READY, S.BUSY):
                raise AgentFailure(FailureKind.INFRASTRUCTURE,
                                   f"the agent is {self.state.value}, not ready", agent_id=self.id)
            if self._active == 0:
                self.lifecycle.to(S.BUSY, request.task_id)
            self._active += 1
            if not self.long_lived:
                self._task_sessions[request.task_id] = None  # cancellable from now on
        try:
            run = self._run_long_lived if self.long_lived else self._run_per_task
            result = run(request, clean_output(on_output))
            self._tasks_done += 1
            return result
        except AgentFailure as exc:
            if not exc.agent_id:
                exc = AgentFailure(exc.kind, str(exc), agent_id=self.id, output=exc.output)
            if exc.kind == FailureKind.LOGIN or (self.long_lived and exc.kind in _SESSION_LOST):
                self._broken = exc
            raise exc from exc.__cause__
        except (RunnerError, KeyboardInterrupt):
            raise
        except Exception as exc:  # noqa: BLE001 - translated at the adapter's edge (out of fds, ...)
            raise as_failure(exc, self.id) from exc
        finally:
            with self._lock:
                self._task_sessions.pop(request.task_id, None)
                self._active -= 1
                if self._active == 0 and self.state == S.BUSY:
                    broken, self._broken = self._broken, None
                    self.lifecycle.to(S.ERROR if broken else S.READY, str(broken or ""))

    def cancel(self, task_id: str) -> bool:
        """Per-task mode: kill that task's program (its execute raises CANCELLED). A long-lived
        session is shared by every task: not cancellable alone (False)."""
        with self._lock:
            if task_id not in self._task_sessions:
                return False
            session = self._task_sessions[task_id]
            if not isinstance(session, PtySession):  # not started yet: it will not start
                self._task_sessions[task_id] = _CANCEL
                return True
        self._close(session, 0.0)
        return True

    def _run_per_task(self, request: TaskRequest, on_output: Callable[[str], None] | None) -> TaskResult:
        spec = self.agent_type.launch(self.definition, request, self.ctx, self.id)
        session = self._open(spec, on_output, stdin_pipe=spec.stdin is not None)
        with self._lock:
            cancelled = self._task_sessions.get(request.task_id) is _CANCEL
            self._task_sessions[request.task_id] = session
        if cancelled:
            self._close(session, 0.0)  # cancelled while it was being started: wait_for says so
        try:
            if spec.stdin is not None:
                try:
                    session.send(spec.stdin, timeout=request.timeout)
                    session.send_eof()
                except PtyEOF:
                    pass  # it exited without reading its input; its output tells why
            patterns = {"login": self.detectors.login} if self.detectors.login else {}
            hit: Hit | None = None
            try:
                hit = session.wait_for(patterns, timeout=time_left(request.timeout, session.started_at),
                                       inactivity=request.inactivity, since=0)
                # Login text: a program that needs a login stops there (it waits, or exits
                # without an answer); one that merely mentions it goes on and answers.
                session.wait_for({}, timeout=time_left(request.timeout, session.started_at),
                                 inactivity=self.login_idle)
            except PtyEOF as eof:
                output = session.output_since(0)
                if hit is not None and (eof.exit_status != 0 or not has_structured_answer(output)):
                    self._login(session, hit)
                if eof.signal_status is not None:
                    raise AgentFailure(FailureKind.CRASH, str(eof), output=output) from eof
                return self.agent_type.parse_result(self.definition, request, output, eof.exit_status)
            except (PtyTimeout, PtyInactive):
                if hit is not None:
                    self._login(session, hit)
                raise
            raise AssertionError("wait_for without patterns ends by raising")  # pragma: no cover
        except (PtyTimeout, PtyInactive, PtyCancelled) as exc:
            raise failure(exc, request) from exc
        finally:
            self._close(session, 0.0)  # after an exit: whatever it left in its process group
            self._account(session.rusage)

    def _account(self, usage: Any) -> None:
        """Per-task mode: add a finished task program's CPU time and peak memory to the agent's."""
        if usage is not None:
            with self._lock:
                self._task_cpu += usage.ru_utime + usage.ru_stime
                self._task_peak_rss = max(self._task_peak_rss, usage.ru_maxrss * 1024)  # KiB on Linux

    def _run_long_lived(self, request: TaskRequest, on_output: Callable[[str], None] | None) -> TaskResult:
        with self._exec_lock:
            session = self._session
            if self._stopping:  # stopped while this task waited for the one before it
                raise AgentFailure(FailureKind.CANCELLED, f"task {request.task_id} was cancelled")
            if session is None or not session.alive:
                raise AgentFailure(FailureKind.CRASH, "the agent's session is gone")
            self._task_output = on_output
            if self.screen is not None:
                from runner.runtimes import local_screen  # lazy: pyte: only the screen-driven CLIs

                try:
                    return local_screen.run_on_screen(self, session, self.screen, request)
                finally:
                    self._task_output = None
            try:
                mark = session.mark()
                typed = self.agent_type.format_task(self.definition, request)
                patterns = {"done": self.detectors.done, "login": self.detectors.login}
                sent = time.monotonic()
                session.send(typed, timeout=request.timeout)
                hit = session.wait_for({k: v for k, v in patterns.items() if v is not None},
                                       timeout=time_left(request.timeout, sent),
                                       inactivity=request.inactivity, since=mark)
                if hit.name == "login":
                    self._login(session, hit)
                answer = drop_echo(session.output_since(mark, hit.start), typed)
            except (PtyTimeout, PtyInactive, PtyCancelled, PtyEOF) as exc:
                self._close(session, 0.0)
                raise failure(exc, request) from exc
            finally:
                self._task_output = None
        return self.agent_type.parse_result(self.definition, request, answer, None)

    # ------------------------------------------------------------ sessions

    def _start_session(self) -> None:
        spec = self.agent_type.launch(self.definition, None, self.ctx, self.id)
        from runner.agents.types.screendrive import make_driver  # lazy: pyte: only the screen-driven CLIs
        from runner.runtimes import local_screen  # lazy: pyte: only the screen-driven CLIs

        screen = make_driver(self.agent_type, self.definition)
        if screen is not None:
            return local_screen.start_on_screen(self, spec, screen)
        session = self._open(spec, self._session_output, stdin_pipe=False)
        patterns = {"ready": self.detectors.ready, "login": self.detectors.login}
        try:
            hit = session.wait_for({k: v for k, v in patterns.items() if v is not None},
                                   timeout=self.start_timeout)
        except PtyCancelled as exc:
            self._close(session, 0.0)
            raise AgentFailure(FailureKind.CANCELLED, "stopped while starting", agent_id=self.id) from exc
        except (PtyEOF, PtyTimeout) as exc:
            self._close(session, 0.0)
            raise AgentFailure(FailureKind.INFRASTRUCTURE, f"did not show its prompt: {exc}",
                               agent_id=self.id, output=exc.output) from exc
        login = self.detectors.login
        late = login.search(session.output_since(0)) if login and hit.name != "login" else None
        if late is not None:  # a login notice printed along with the prompt (claude's footer)
            hit = Hit("login", late.group(0), late.start(), late.end())
        if hit.name == "login":
            try:
                self._login(session, hit)
            except AgentFailure as exc:
                raise LoginRequired(self.id, exc.output) from exc
        self._session = session

    def _session_output(self, text: str) -> None:
        callback = self._task_output
        if callback is not None:
            callback(text)

    def _open(self, spec: LaunchSpec, on_output: Callable[[str], None] | None,
              stdin_pipe: bool) -> PtySession:
        """Start a session for ``spec`` (tracked by this handle and the runtime)."""
        argv = [self._program or spec.argv[0], *spec.argv[1:]]
        env = build_env({**spec.env, "RUNNER_RUNTIME": "local"}, self.ctx.environ)
        session = PtySession(argv, cwd=spec.cwd, env=env, on_output=on_output, stdin_pipe=stdin_pipe,
                             max_transcript=self.max_transcript)
        with self._lock:
            if self._stopping:
                raise AgentFailure(FailureKind.CANCELLED, "the agent was stopped", agent_id=self.id)
            self._sessions.add(session)
            self.runtime.track(self, session)
        try:
            session.start()
        except PtySpawnError as exc:
            self._close(session, 0.0)
            raise AgentFailure(FailureKind.INFRASTRUCTURE, str(exc), agent_id=self.id) from exc
        except PtyCancelled as exc:  # stop() came between registering and starting
            self._close(session, 0.0)
            raise AgentFailure(FailureKind.CANCELLED, "the agent was stopped", agent_id=self.id) from exc
        return session

    def _close(self, session: PtySession, grace: float) -> None:
        session.close(grace, wait=False)  # when stop() is closing it, stop() waits, not the task
        with self._lock:
            self._sessions.discard(session)
            if session is self._session:
                self._session = None
        self.runtime.untrack(session)

    def _login(self, session: PtySession, hit: Hit) -> NoReturn:
        """Tell the world a human must log in; kill the program; raise AgentFailure(LOGIN)."""
        instruction = login_instruction(session, hit)
        self.lifecycle.emit("login_required", detail=instruction)
        self._close(session, 0.0)
        raise AgentFailure(FailureKind.LOGIN, f"login required: {instruction}", agent_id=self.id,
                           output=instruction)
