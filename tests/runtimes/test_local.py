"""LocalRuntime / LocalHandle with real programs in real PTYs."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
from local_helpers import PROGRAMS, gone, make_agent, run_processes

from runner.agents.lifecycle import AgentState as S
from runner.agents.model import AgentInfo, TaskRequest
from runner.errors import AgentFailure, ConfigurationError, FailureKind, LoginRequired
from runner.spec.models import AgentDef

pytestmark = pytest.mark.pty


def task(description: str = "hello", **kw) -> TaskRequest:
    kw.setdefault("timeout", 20.0)
    return TaskRequest(task_id="t1", description=description, **kw)


def failure(handle, request: TaskRequest) -> AgentFailure:
    with pytest.raises(AgentFailure) as info:
        handle.execute(request)
    assert info.value.agent_id == handle.id
    return info.value


# ------------------------------------------------------------------ per-task


def test_per_task_stdin_json_answer(runtime, ctx, events):
    h = make_agent(runtime, "la1", "answer_json.py")
    assert h.state == S.SPAWNED
    h.start()
    result = h.execute(task("hello world"))
    assert result.result == "echo: hello world"
    assert result.confidence == 0.9
    assert result.reasoning == "it was asked"
    assert "thinking..." in result.output and "\x1b" not in result.output
    assert h.lifecycle.history == [S.SPAWNED, S.STARTING, S.READY, S.BUSY, S.READY]
    names = [e.name for e in events if e.name != "state_changed"]
    assert names == ["agent_starting", "agent_ready", "agent_busy", "agent_ready"]
    h.stop()
    assert h.state == S.STOPPED
    assert [e.name for e in events][-1] == "agent_stopped"


def test_per_task_argument_appended_and_placeholder(runtime):
    h = make_agent(runtime, "la1", "answer_json.py", input="argument")
    h.start()
    assert h.execute(task("as argument")).result == "echo: as argument"
    d = AgentDef(command=(sys.executable, str(PROGRAMS / "answer_json.py"), "[{task}]"), input="argument")
    h2 = runtime.spawn(AgentInfo(id="la2", name="la2", type="command", definition=d))
    h2.start()
    assert h2.execute(task("x y")).result == "echo: [x y]"


def test_marker_answer_and_default_confidence(runtime):
    h = make_agent(runtime, "la1", "answer_marker.py", confidence=0.3)
    h.start()
    result = h.execute(task("life"))
    assert result.result == "The answer to life is 42"
    assert result.confidence == 0.7
    assert result.reasoning == "computed carefully"


def test_strict_json_output_rejects_markers(runtime):
    h = make_agent(runtime, "la1", "answer_marker.py", options={"output": "json"})
    h.start()
    assert failure(h, task()).kind == FailureKind.PARSE
    assert h.state == S.READY  # a per-task agent is not broken by one bad answer


def test_garbage_is_a_parse_failure(runtime):
    h = make_agent(runtime, "la1", "garbage.py")
    h.start()
    exc = failure(h, task())
    assert exc.kind == FailureKind.PARSE, (str(exc), exc.output)
    assert "confidence" in str(exc)


def test_timeout_kills_the_program(runtime, ctx):
    h = make_agent(runtime, "la1", "hang.py")
    h.start()
    t0 = time.monotonic()
    exc = failure(h, task(timeout=0.5))
    assert exc.kind == FailureKind.TIMEOUT, (str(exc), exc.output)
    assert time.monotonic() - t0 < 2.0
    assert "started" in exc.output
    assert run_processes(ctx.run_id) == []


def test_inactivity_is_a_hang(runtime, ctx):
    h = make_agent(runtime, "la1", "hang.py")
    h.start()
    t0 = time.monotonic()
    exc = failure(h, task(timeout=20.0, inactivity=0.4))
    assert exc.kind == FailureKind.HANG, (str(exc), exc.output)
    assert 0.4 <= time.monotonic() - t0 < 2.0
    assert run_processes(ctx.run_id) == []


def test_exit_without_answer_is_a_task_failure(runtime):
    h = make_agent(runtime, "la1", "crash.py", "exit")
    h.start()
    exc = failure(h, task())
    assert exc.kind == FailureKind.TASK, (str(exc), exc.output)
    assert "status 1" in str(exc)
    assert "boom" in exc.output


def test_killed_mid_task_is_a_crash(runtime):
    h = make_agent(runtime, "la1", "crash.py", "kill")
    h.start()
    exc = failure(h, task())
    assert exc.kind == FailureKind.CRASH, (str(exc), exc.output)
    assert "signal 9" in str(exc)
    assert "working on it" in exc.output


def test_login_required_per_task(runtime, events, ctx):
    h = make_agent(runtime, "la1", "login.py")
    h.start()
    exc = failure(h, task(timeout=10.0))
    assert exc.kind == FailureKind.LOGIN, (str(exc), exc.output)
    logins = [e for e in events if e.name == "login_required"]
    assert len(logins) == 1
    assert "https://login.example.com/device?code=ABCD-1234" in logins[0].detail
    assert logins[0].agent_id == "la1"
    assert h.state == S.ERROR
    assert run_processes(ctx.run_id) == []


def test_missing_program_fails_at_start(runtime):
    d = AgentDef(command=("no-such-program-xyz", "--flag"))
    h = runtime.spawn(AgentInfo(id="la1", name="la1", type="command", definition=d))
    with pytest.raises(AgentFailure) as info:
        h.start()
    assert info.value.kind == FailureKind.INFRASTRUCTURE
    assert "no-such-program-xyz" in str(info.value) and "PATH" in str(info.value)
    assert h.state == S.ERROR


def test_not_executable_program_fails_at_start(runtime, tmp_path: Path):
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    d = AgentDef(command=(str(script),))
    h = runtime.spawn(AgentInfo(id="la1", name="la1", type="command", definition=d))
    with pytest.raises(AgentFailure, match="not executable") as info:
        h.start()
    assert info.value.kind == FailureKind.INFRASTRUCTURE


def test_environment_has_run_id_and_only_referenced_secrets(runtime, ctx):
    h = make_agent(runtime, "la1", "env_dump.py", env={"PLAIN": "yes"},
                   credentials={"AGENT_TOKEN": "RUNNER_TEST_SECRET"})
    h.start()
    env = h.execute(task()).result
    assert env["RUNNER_RUN_ID"] == ctx.run_id
    assert env["RUNNER_AGENT_ID"] == "la1"
    assert env["RUNNER_MANAGED"] == "1"
    assert env["AGENT_TOKEN"] == "s3cret-value"
    assert env["PLAIN"] == "yes"
    assert env["TERM"] == "xterm-256color"
    assert "RUNNER_TEST_SECRET" not in env
    h2 = make_agent(runtime, "la2", "env_dump.py")
    h2.start()
    env2 = h2.execute(task()).result
    assert "s3cret-value" not in env2.values()
    assert set(env2) <= {"PATH", "HOME", "LANG", "USER", "LOGNAME", "SHELL", "TMPDIR", "TZ", "TERM",
                         "RUNNER_MANAGED", "RUNNER_RUN_ID", "RUNNER_AGENT_ID", "RUNNER_RUNTIME",
                         "RUNNER_TASK_ID", "LC_CTYPE"}


def test_per_task_runs_tasks_concurrently(runtime):
    h = make_agent(runtime, "la1", "answer_json.py")
    assert h.concurrency > 1
    h.start()
    results: dict[int, str] = {}

    def run(i: int) -> None:
        results[i] = h.execute(TaskRequest(task_id=f"t{i}", description=f"n{i}", timeout=20.0)).result

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: f"echo: n{i}" for i in range(4)}
    assert h.state == S.READY


# ------------------------------------------------------------------ stop


def test_stop_during_execute_cancels_promptly(runtime, ctx):
    h = make_agent(runtime, "la1", "ignore_term.py")  # needs SIGKILL after the grace (1 s)
    h.start()
    seen = threading.Event()
    outcome: dict = {}

    def run() -> None:
        try:
            h.execute(task(timeout=30.0), on_output=lambda text: seen.set())
        except AgentFailure as exc:
            outcome["exc"], outcome["at"] = exc, time.monotonic()

    worker = threading.Thread(target=run)
    worker.start()
    assert seen.wait(10.0)
    t0 = time.monotonic()
    h.stop()
    stopped_at = time.monotonic()
    worker.join(10.0)
    assert outcome["exc"].kind == FailureKind.CANCELLED
    assert outcome["at"] - t0 < 0.5  # execute returns at once, stop() waits out the grace
    assert 0.9 <= stopped_at - t0 < 5.0
    assert h.state == S.STOPPED
    assert run_processes(ctx.run_id) == []
    h.stop()  # idempotent
    with pytest.raises(AgentFailure) as info:
        h.execute(task())
    assert info.value.kind == FailureKind.CANCELLED


def test_stop_kills_the_whole_process_group(runtime, tmp_path: Path):
    pids_file = tmp_path / "pids"
    h = make_agent(runtime, "la1", "grandchild.py", str(pids_file), input="argument")
    h.start()
    spawned = threading.Event()
    worker = threading.Thread(target=lambda: pytest.raises(
        AgentFailure, h.execute, task(timeout=30.0), lambda text: "spawned" in text and spawned.set()))
    worker.start()
    assert spawned.wait(10.0)
    parent, child = map(int, pids_file.read_text().split())
    h.stop(force=True)
    worker.join(10.0)
    assert gone(parent) and gone(child)


def test_cleanup_kills_everything_and_is_idempotent(runtime, ctx):
    handles = [make_agent(runtime, f"la{i}", "hang.py") for i in range(3)]
    started = threading.Barrier(4)
    for h in handles:
        h.start()
        threading.Thread(target=lambda h=h: pytest.raises(
            AgentFailure, h.execute, task(timeout=30.0), lambda text: "started" in text and started.wait()),
            daemon=True).start()
    started.wait(10.0)
    assert len(run_processes(ctx.run_id)) == 3
    assert runtime.cleanup() == []
    assert run_processes(ctx.run_id) == []
    assert all(h.state == S.STOPPED for h in handles)
    assert runtime.cleanup() == []


def test_cleanup_sweeps_processes_that_left_the_group(runtime, ctx, tmp_path: Path):
    pid_file = tmp_path / "pid"
    code = ("import os, subprocess, sys; p = subprocess.Popen([sys.executable, '-c', "
            "'import time; time.sleep(3600)'], start_new_session=True); "
            f"open({str(pid_file)!r}, 'w').write(str(p.pid)); print('done')")
    d = AgentDef(command=(sys.executable, "-c", code), input="argument")
    h = runtime.spawn(AgentInfo(id="la1", name="la1", type="command", definition=d))
    h.start()
    assert h.execute(task()).result == "done"
    escaped = int(pid_file.read_text())
    assert not gone(escaped, timeout=0.05)  # it left the process group: only the sweep finds it
    assert runtime.cleanup() == []
    assert gone(escaped)


# ------------------------------------------------------------------ long-lived


def repl(runtime, agent_id: str = "r1", **kw):
    return make_agent(runtime, agent_id, "repl.py", mode="long-lived", ready_pattern=r"^agent> $", **kw)


def test_long_lived_session_answers_several_tasks(runtime, ctx, events):
    h = repl(runtime)
    h.start()
    assert h.state == S.READY and h.health().healthy
    pid = h.health().metrics["pid"]
    first = h.execute(task("make me loud"))
    assert (first.result, first.confidence, first.reasoning) == ("MAKE ME LOUD", 0.8, "upper-cased")
    assert first.output.splitlines()[0] == "working on 'make me loud'"  # the echo is dropped
    assert h.execute(task("env RUNNER_RUN_ID")).result == ctx.run_id
    assert h.execute(task("two\nlines")).result == "TWO LINES"  # typed as one line
    assert h.health().metrics["pid"] == pid  # the same process all along
    assert h.health().metrics["messageCount"] == 3
    h.stop()
    assert gone(pid) and not h.health().healthy


def test_long_lived_hang_crash_and_restart(runtime, ctx):
    h = repl(runtime)
    h.start()
    exc = failure(h, task("slow", inactivity=0.3))
    assert exc.kind == FailureKind.HANG, (str(exc), exc.output)
    assert h.state == S.ERROR and not h.health().healthy
    assert run_processes(ctx.run_id) == []
    h.start()  # error -> starting -> ready: a new session
    assert h.lifecycle.history[-5:] == [S.READY, S.BUSY, S.ERROR, S.STARTING, S.READY]
    assert h.execute(task("again")).result == "AGAIN"
    exc = failure(h, task("die"))
    assert exc.kind == FailureKind.CRASH, (str(exc), exc.output)
    assert "about to die" in exc.output
    h.start()
    exc = failure(h, task("slow", timeout=0.3))
    assert exc.kind == FailureKind.TIMEOUT, (str(exc), exc.output)


def test_long_lived_login_mid_session(runtime, events):
    h = repl(runtime)
    h.start()
    exc = failure(h, task("login"))
    assert exc.kind == FailureKind.LOGIN, (str(exc), exc.output)
    detail = [e.detail for e in events if e.name == "login_required"]
    assert detail == ["Session expired. Please log in at https://login.example.com/x"]
    assert h.state == S.ERROR


def test_long_lived_login_at_start_raises_login_required(runtime, events, ctx):
    h = make_agent(runtime, "l1", "login.py", mode="long-lived", ready_pattern=r"^never> $")
    with pytest.raises(LoginRequired) as info:
        h.start()
    assert info.value.agent_id == "l1"
    assert "https://login.example.com/device?code=ABCD-1234" in info.value.instruction
    assert [e.name for e in events if e.name == "login_required"] == ["login_required"]
    assert h.state == S.ERROR
    assert run_processes(ctx.run_id) == []


def test_long_lived_custom_login_pattern_and_done_pattern(runtime):
    h = make_agent(runtime, "r1", "repl.py", mode="long-lived", ready_pattern=r"^agent> $",
                   done_pattern=r"^agent> $", login_pattern=r"NEVER-MATCHES")
    h.start()
    result = h.execute(task("login"))  # not a login for this agent: just text
    assert "Session expired" in result.result


def test_long_lived_prompt_never_shows(runtime):
    h = make_agent(runtime, "r1", "repl.py", mode="long-lived", ready_pattern=r"^nope> $",
                   options={"start_timeout": 0.5})
    with pytest.raises(AgentFailure) as info:
        h.start()
    assert info.value.kind == FailureKind.INFRASTRUCTURE
    assert "prompt" in str(info.value)


def test_long_lived_stop_during_execute_cancels(runtime, ctx):
    h = repl(runtime)
    h.start()
    outcome: dict = {}
    busy = threading.Event()
    h.lifecycle.bus.subscribe(lambda e: busy.set(), "agent_busy")

    def run() -> None:
        try:
            h.execute(task("slow", timeout=30.0))
        except AgentFailure as exc:
            outcome["exc"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    assert busy.wait(10.0)
    t0 = time.monotonic()
    h.stop(force=True)
    worker.join(5.0)
    assert time.monotonic() - t0 < 1.0
    assert outcome["exc"].kind == FailureKind.CANCELLED
    assert run_processes(ctx.run_id) == []


def test_stop_before_start(runtime):
    h = repl(runtime)
    h.stop()
    assert h.state == S.STOPPED
    with pytest.raises(AgentFailure) as info:
        h.start()
    assert info.value.kind == FailureKind.CANCELLED


# ------------------------------------------------------------------ runtime


def test_can_run_and_spawn_checks(runtime):
    ok = AgentInfo(id="a", name="a", type="command", definition=AgentDef(command=("x",)))
    assert runtime.can_run(ok)
    assert runtime.available() is None
    assert not runtime.can_run(AgentInfo(id="b", name="b", type="command", endpoint="http://h:1",
                                         definition=AgentDef(command=("x",))))
    assert not runtime.can_run(AgentInfo(id="c", name="c", type="command"))
    assert not runtime.can_run(AgentInfo(id="d", name="d", type="nope",
                                         definition=AgentDef(type="nope", command=("x",))))
    assert not runtime.can_run(AgentInfo(id="e", name="e", type="command",
                                         definition=AgentDef(command=("x",), runtime="docker")))
    with pytest.raises(ConfigurationError, match="ready_pattern"):
        runtime.spawn(AgentInfo(id="f", name="f", type="command",
                                definition=AgentDef(command=("x",), mode="long-lived")))


def test_execute_before_start_and_health(runtime, tmp_path: Path):
    h = make_agent(runtime, "la1", "answer_json.py")
    with pytest.raises(AgentFailure) as info:
        h.execute(task())
    assert info.value.kind == FailureKind.INFRASTRUCTURE and "not ready" in str(info.value)
    assert not h.health().healthy
    h.start()
    assert h.health().healthy
    h.execute(task())
    assert h.health().metrics["messageCount"] == 1


def test_output_callback_gets_clean_text(runtime):
    h = make_agent(runtime, "la1", "answer_json.py")
    h.start()
    chunks: list[str] = []
    h.execute(task("x"), on_output=chunks.append)
    text = "".join(chunks)
    assert "thinking..." in text and "\x1b" not in text and '"result": "echo: x"' in text


def test_stop_cancels_every_concurrent_task(runtime, ctx):
    h = make_agent(runtime, "la1", "hang.py")
    h.start()
    started = threading.Semaphore(0)
    kinds: list[FailureKind] = []

    def run() -> None:
        try:
            h.execute(task(timeout=30.0), on_output=lambda text: "started" in text and started.release())
        except AgentFailure as exc:
            kinds.append(exc.kind)

    workers = [threading.Thread(target=run) for _ in range(6)]
    for w in workers:
        w.start()
    for _ in workers:
        assert started.acquire(timeout=10.0)
    assert len(run_processes(ctx.run_id)) == 6
    h.stop()
    for w in workers:
        w.join(10.0)
    assert kinds == [FailureKind.CANCELLED] * 6
    assert run_processes(ctx.run_id) == []
    assert h.lifecycle.history[-2:] == [S.STOPPING, S.STOPPED]


def test_long_lived_takes_one_task_at_a_time_and_stop_cancels_the_queue(runtime):
    h = repl(runtime)
    h.start()
    assert h.concurrency == 1
    kinds: list[FailureKind] = []
    busy = threading.Event()
    h.lifecycle.bus.subscribe(lambda e: busy.set(), "agent_busy")

    def run(description: str) -> None:
        try:
            h.execute(task(description, timeout=30.0))
        except AgentFailure as exc:
            kinds.append(exc.kind)

    first = threading.Thread(target=run, args=("slow",))
    first.start()
    assert busy.wait(10.0)
    second = threading.Thread(target=run, args=("queued",))
    second.start()
    h.stop(force=True)
    first.join(5.0)
    second.join(5.0)
    assert kinds == [FailureKind.CANCELLED, FailureKind.CANCELLED]


def test_per_task_answer_that_mentions_login_is_an_answer(runtime):
    code = ("import json, time; print('Adding a Login required banner...', flush=True); time.sleep(0.05); "
            "print(json.dumps({'result': 'banner says: Please log in', 'confidence': 0.9}))")
    d = AgentDef(command=(sys.executable, "-c", code))
    h = runtime.spawn(AgentInfo(id="la1", name="la1", type="command", definition=d))
    h.start()
    assert h.execute(task()).result == "banner says: Please log in"
    assert h.state == S.READY


def test_per_task_login_then_exit_without_answer(runtime, events):
    code = "import sys; print('Error: not logged in. Please log in: https://auth.example.com/cli'); sys.exit(2)"
    d = AgentDef(command=(sys.executable, "-c", code))
    h = runtime.spawn(AgentInfo(id="la1", name="la1", type="command", definition=d))
    h.start()
    exc = failure(h, task())
    assert exc.kind == FailureKind.LOGIN, (str(exc), exc.output)
    assert [e.detail for e in events if e.name == "login_required"] == [
        "Error: not logged in. Please log in: https://auth.example.com/cli"]


def test_runtime_options_in_camel_case(ctx):
    from runner.runtimes.local import LocalRuntime

    rt = LocalRuntime(ctx, {"startTimeout": 5, "maxParallel": 3, "grace": 0.5, "loginIdle": 1})
    h = make_agent(rt, "la1", "answer_json.py")
    assert (h.start_timeout, h.concurrency, h.grace, h.login_idle) == (5.0, 3, 0.5, 1.0)
    h2 = make_agent(rt, "la2", "repl.py", mode="long-lived", ready_pattern="> $", options={"startTimeout": 2})
    assert h2.start_timeout == 2.0 and h2.concurrency == 1
    assert rt.cleanup() == []


def test_cancel_one_per_task_task_keeps_the_agent(runtime, ctx):
    h = make_agent(runtime, "lc1", "hang.py")  # prints `started`, then nothing for an hour
    h.start()
    started = threading.Event()
    outcome: dict = {}

    def run() -> None:
        try:
            h.execute(task(timeout=60.0), on_output=lambda text: started.set())
        except AgentFailure as exc:
            outcome["exc"] = exc

    worker = threading.Thread(target=run)
    worker.start()
    assert started.wait(10.0)
    (proc,) = run_processes(ctx.run_id)
    assert h.cancel("t1") is True
    worker.join(5.0)
    assert not worker.is_alive() and outcome["exc"].kind == FailureKind.CANCELLED
    assert gone(proc.pid)
    assert h.state == S.READY  # only the task ended: the agent takes the next one
    assert h.cancel("t1") is False  # nothing of that id runs any more
    assert h.cancel("no-such-task") is False


def test_long_lived_session_cannot_cancel_one_task(runtime):
    h = repl(runtime)
    h.start()
    assert h.cancel("t1") is False  # one session serves every task: the caller decides
    assert h.execute(task("hello", timeout=10.0)).result
