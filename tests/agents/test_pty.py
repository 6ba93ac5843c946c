"""PtySession with real programs in real PTYs."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import threading
import time

import pytest

from runner.agents.pty import (
    PtyCancelled,
    PtyEOF,
    PtyInactive,
    PtySession,
    PtySpawnError,
    PtyTimeout,
    build_env,
    proc,
)

pytestmark = pytest.mark.pty
PY = sys.executable


def session(code: str, **kw) -> PtySession:
    s = PtySession([PY, "-c", code], env=build_env({}), **kw)
    s.start()
    return s


def test_build_env_is_minimal():
    env = build_env({"X": "1"}, {"PATH": "/bin", "HOME": "/h", "AWS_SECRET_ACCESS_KEY": "k", "TERM": "dumb"})
    assert env == {"PATH": "/bin", "HOME": "/h", "LANG": "C.UTF-8", "TERM": "xterm-256color", "X": "1"}


def test_terminal_size_tty_and_process_group():
    s = session("import os, shutil, sys; print(shutil.get_terminal_size(), sys.stdout.isatty(), "
                "os.getpgrp() == os.getpid() == os.getsid(0))")
    with pytest.raises(PtyEOF) as info:
        s.wait_for({}, timeout=10)
    assert info.value.exit_status == 0 and info.value.signal_status is None
    assert "os.terminal_size(columns=120, lines=40) True True" in s.output_since(0)
    s.close()


@pytest.mark.parametrize("env_has_chdir", [True, False], ids=["env -C", "sh cd"])
def test_the_terminal_is_the_programs_controlling_terminal_in_its_cwd(tmp_path, monkeypatch, env_has_chdir):
    """posix_spawn + `env -C`: the PTY is the controlling terminal (its /dev/tty, its
    foreground group, so a typed ^C is a SIGINT), also when stdin is a pipe; the program
    runs in ``cwd``, with no fd of runner's but 0-2 and no signal ignored (runner ignores
    SIGPIPE; here SIGINT too, as when started in the background)."""
    script = ("echo cwd=$(pwd); echo fds=$(ls /proc/self/fd);"
              " grep SigIgn /proc/self/status; echo via-tty > /dev/tty; read line; echo got=$line; exec cat")
    assert proc._chdir_prefix("/")[:2] == [proc._ENV, "-C"]  # this machine's coreutils env has -C
    monkeypatch.setattr(proc, "_env_has_chdir", env_has_chdir)  # ... the sh fallback runs here too
    assert proc._chdir_prefix("/")[0] == (proc._ENV if env_has_chdir else "/bin/sh")
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for pipe in (False, True):
            s = PtySession(["/bin/sh", "-c", script], cwd=tmp_path, env=build_env({}), stdin_pipe=pipe)
            s.start()
            s.wait_for({"tty": re.compile("via-tty")}, timeout=10)
            s.send("x\n")
            s.wait_for({"got": re.compile("got=x")}, timeout=10)
            if not pipe:  # ^C on the terminal: SIGINT to its foreground group (once cat runs:
                s.send("ping\n")  # a ^C while sh execs it is caught by sh's handler and lost)
                s.wait_for({"cat": re.compile(r"ping\s+ping")}, timeout=10)
                s.send("\x03")
                assert s.wait_exit(10) and s.signal_status == signal.SIGINT
            out = s.output_since(0)
            s.close(grace=0)
            assert f"cwd={tmp_path}" in out
            assert "fds=0 1 2 3\n" in out  # 3: ls reading the directory
            ignored = int(re.search(r"SigIgn:\s*([0-9a-f]+)", out).group(1), 16)
            for sig in (signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ, signal.SIGTERM):
                assert not ignored & (1 << (sig - 1)), (sig, out)
    finally:
        signal.signal(signal.SIGINT, previous)


def test_wait_for_send_and_cursor():
    s = session("name = input('name? '); print('hello', name); input('again? ')")
    assert s.wait_for({"q": re.compile(r"name\? $")}, timeout=10).name == "q"
    s.send("Ada\n")
    hit = s.wait_for({"hello": re.compile(r"hello (\w+)"), "again": re.compile(r"again\?")}, timeout=10)
    assert (hit.name, hit.text) == ("hello", "hello Ada")
    assert s.wait_for({"again": re.compile(r"again\?")}, timeout=10).name == "again"
    assert s.output_since(hit.start, hit.end) == "hello Ada"
    assert s.alive
    s.close(grace=1)
    assert not s.alive


def test_earliest_match_wins_and_line_anchors_hold_across_reads():
    s = session("import sys, time; print('aaa'); sys.stdout.flush(); time.sleep(0.05); print('b> x'); print('> ')")
    hit = s.wait_for({"late": re.compile(r"^> ", re.M), "early": re.compile("aaa")}, timeout=10)
    assert hit.name == "early"
    assert s.wait_for({"prompt": re.compile(r"^> ", re.M)}, timeout=10).text == "> "
    s.close()


def test_stdin_pipe_gives_a_real_eof_and_no_line_limit():
    s = session("import sys; d = sys.stdin.read(); print(len(d), d[-3:])", stdin_pipe=True)
    s.send("x" * 100_000 + "end")
    s.send_eof()
    with pytest.raises(PtyEOF):
        s.wait_for({}, timeout=10)
    assert "100003 end" in s.output_since(0)
    s.close()


def test_send_eof_on_the_terminal():
    s = session("import sys; print('got', repr(sys.stdin.read()))")
    s.send("partial line")
    s.send_eof()
    with pytest.raises(PtyEOF):
        s.wait_for({}, timeout=10)
    assert "got 'partial line'" in s.output_since(0)
    s.close()


def test_exit_status_and_signal_status():
    s = session("import sys; sys.exit(7)")
    with pytest.raises(PtyEOF) as info:
        s.wait_for({"never": re.compile("never")}, timeout=10)
    assert info.value.exit_status == 7 and "status 7" in str(info.value)
    s.close()
    s = session("import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    with pytest.raises(PtyEOF) as info:
        s.wait_for({}, timeout=10)
    assert info.value.signal_status == signal.SIGKILL and info.value.exit_status is None
    s.close()


def test_timeout_and_inactivity_are_told_apart():
    s = session("import time\nwhile True:\n    print('tick', flush=True); time.sleep(0.05)")
    t0 = time.monotonic()
    with pytest.raises(PtyTimeout):
        s.wait_for({"never": re.compile("never")}, timeout=0.3, inactivity=0.25)
    assert 0.3 <= time.monotonic() - t0 < 1.5
    s.close(grace=0)
    s = session("import time; print('once', flush=True); time.sleep(60)")
    t0 = time.monotonic()
    with pytest.raises(PtyInactive) as info:
        s.wait_for({"never": re.compile("never")}, timeout=10, inactivity=0.3)
    assert 0.3 <= time.monotonic() - t0 < 1.5
    assert "once" in info.value.output
    s.close(grace=0)


def test_close_from_another_thread_cancels_the_waiter_and_is_idempotent():
    s = session("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)")
    s.wait_for({"up": re.compile("up")}, timeout=10)
    caught: dict = {}

    def wait() -> None:
        try:
            s.wait_for({"never": re.compile("never")}, timeout=30)
        except PtyCancelled as exc:
            caught["at"] = time.monotonic()
            caught["exc"] = exc

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.05)  # let the waiter block (the test is about waking it, not about timing)
    t0 = time.monotonic()
    closer = threading.Thread(target=s.close, kwargs={"grace": 0.5})
    closer.start()
    waiter.join(5)
    assert caught["at"] - t0 < 0.3
    closer.join(5)
    assert s.signal_status == signal.SIGKILL  # it ignored SIGTERM: killed after the grace
    s.close()
    s.close(grace=0)
    with pytest.raises(PtyCancelled):
        s.send("x")


def test_heavy_output_is_drained_and_bounded():
    chunks: list[str] = []
    s = PtySession([PY, "-c", "import sys\nfor i in range(20000): sys.stdout.write('%05d' % i + 'x' * 200 + '\\n')\nprint('END')"],
                   env=build_env({}), on_output=chunks.append, max_transcript=100_000)
    s.start()
    with pytest.raises(PtyEOF):
        s.wait_for({}, timeout=30)
    assert sum(map(len, chunks)) > 4_000_000
    assert s.mark() > 4_000_000
    kept = s.output_since(0)
    assert 100_000 <= len(kept) < 200_000 and kept.endswith("END\n")
    s.close()


def test_utf8_split_and_invalid_bytes_are_replaced():
    s = session("import os, time; b = 'é✓'.encode(); os.write(1, b[:1]); time.sleep(0.05); os.write(1, b[1:] + b'\\xff!')")
    with pytest.raises(PtyEOF):
        s.wait_for({}, timeout=10)
    assert s.output_since(0) == "é✓\ufffd!"
    s.close()


def test_spawn_errors():
    with pytest.raises(PtySpawnError):
        PtySession(["/nonexistent/program"], env=build_env({})).start()
    with pytest.raises(PtySpawnError, match="working directory"):
        PtySession([PY, "-c", "pass"], cwd="/nonexistent-dir", env=build_env({})).start()
    with pytest.raises(TypeError):
        PtySession("echo hi")  # type: ignore[arg-type]


def test_no_zombie_and_no_fd_leak():
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        s = session("print('x')")
        assert s.wait_exit(10)
        s.close()
        assert not os.path.exists(f"/proc/{s.pid}")  # reaped
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_session_holds_no_fd_before_its_program_runs_and_three_while_it_runs():
    """Sessions queued for their fork (forks take turns) hold nothing; a running one holds its
    PTY, its pidfd and its wake eventfd (bench/scale.py: fds per running agent)."""
    before = len(os.listdir("/proc/self/fd"))
    waiting = PtySession([PY, "-c", "pass"], env=build_env({}))
    assert len(os.listdir("/proc/self/fd")) == before
    running = session("import time; time.sleep(30)")
    try:
        assert len(os.listdir("/proc/self/fd")) == before + 3
        kinds = set()
        for fd in os.listdir("/proc/self/fd"):
            with contextlib.suppress(FileNotFoundError):  # listdir's own, closed by now
                kinds.add(os.readlink(f"/proc/self/fd/{fd}").split(":")[-1])
        assert {"[eventfd]", "[pidfd]", "/dev/ptmx"} <= kinds
    finally:
        running.close(grace=0)
        waiting.close()
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_session_out_of_fds_after_its_fork_kills_its_program(monkeypatch):
    def no_fd(*args: object) -> int:
        raise OSError(24, "Too many open files")

    before = len(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(os, "eventfd", no_fd)
    s = PtySession([PY, "-c", "import time; time.sleep(30)"], env=build_env({}))
    with pytest.raises(PtySpawnError, match="Too many open files"):
        s.start()
    monkeypatch.undo()
    assert s.pid is not None and not os.path.exists(f"/proc/{s.pid}")  # killed and reaped
    s.close()
    assert len(os.listdir("/proc/self/fd")) == before


@pytest.mark.parametrize("call", ["openpty", "pipe"])
def test_a_session_that_cannot_get_its_pty_or_pipe_is_a_spawn_error_and_holds_nothing(monkeypatch, call):
    """Out of fds (or of PTYs) before the program starts: PtySpawnError, nothing started, no fd kept."""
    def no_fd(*args: object) -> object:
        raise OSError(24, "Too many open files")

    before = len(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(os, call, no_fd)
    s = PtySession([PY, "-c", "pass"], env=build_env({}), stdin_pipe=True)
    with pytest.raises(PtySpawnError, match="Too many open files"):
        s.start()
    monkeypatch.undo()
    assert s.pid is None
    s.close()
    assert len(os.listdir("/proc/self/fd")) == before


def test_spawn_sees_the_prompt_of_a_waiting_program_and_close_reaps_it():
    """What the old timed comparison exercised, without the clock: spawn, see the first output
    (a prompt with no newline, the program then waits), close, the process is gone.
    The speed of this against bare ptyprocess/pexpect is measured by bench/spawn.py."""
    s = PtySession(["/bin/sh", "-c", 'printf "ready> "; read line'], env=build_env({}))
    s.start()
    hit = s.wait_for({"ready": re.compile(r"ready> $")}, timeout=10)
    assert hit.name == "ready" and hit.text == "ready> "
    assert s.alive
    s.close(grace=0)
    assert not os.path.exists(f"/proc/{s.pid}")  # killed and reaped


def test_exit_is_seen_although_a_grandchild_keeps_the_terminal_open():
    s = session("import subprocess, sys; subprocess.Popen([sys.executable, '-c', "
                "'import time; time.sleep(30)']); print('leader done')")
    t0 = time.monotonic()
    with pytest.raises(PtyEOF) as info:
        s.wait_for({}, timeout=10)
    assert time.monotonic() - t0 < 3.0
    assert info.value.exit_status == 0
    assert "leader done" in s.output_since(0)
    s.close()  # and the grandchild goes with the process group


def test_send_times_out_when_the_program_does_not_read():
    s = session("import time; print('not reading', flush=True); time.sleep(30)", stdin_pipe=True)
    t0 = time.monotonic()
    with pytest.raises(PtyTimeout):
        s.send("x" * 1_000_000, timeout=0.3)  # far more than a pipe holds
    assert time.monotonic() - t0 < 2.0
    s.close(grace=0)


def test_close_from_the_output_callback():
    holder: list[PtySession] = []
    s = PtySession([PY, "-c", "import time; print('stop me', flush=True); time.sleep(30)"], env=build_env({}),
                   on_output=lambda text: "stop me" in text and holder[0].close(grace=0))
    holder.append(s)
    s.start()
    with pytest.raises(PtyCancelled):
        s.wait_for({"never": re.compile("never")}, timeout=10)
    assert s.wait_exit(5) and s.signal_status == signal.SIGKILL


def test_a_program_that_never_pauses_still_times_out():
    # Output arrives while the waiter matches: the waiter must still look at its deadline.
    s = session("import sys\nwhile True: sys.stdout.write('y' * 4000 + '\\n')")
    t0 = time.monotonic()
    with pytest.raises(PtyTimeout):
        s.wait_for({"never": re.compile("never")}, timeout=0.5)
    assert time.monotonic() - t0 < 5
    s.close(grace=0)


def test_a_match_after_megabytes_is_found_once_in_one_pass():
    s = session("import sys\nfor i in range(3000): sys.stdout.write('z' * 1999 + '\\n')\n"
                "sys.stdout.write('please log in at https://x.example\\n'); sys.stdout.flush()\nimport time; time.sleep(30)")
    hit = s.wait_for({"login": re.compile(r"please log in")}, timeout=30, since=0)
    assert hit.start == 3000 * 2000
    s.close(grace=0)
