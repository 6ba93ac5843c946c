"""A scripted `command` agent for the end-to-end tests; the first argument picks the behaviour.

    overlap DIR NAME N   write DIR/NAME.start, wait (<= 10 s) until N *.start files exist,
                         write DIR/NAME.end, answer "yes" -- proves the agents ran at once
    killonce FILE        first attempt: record it in FILE and SIGKILL itself; then answer
    marker FILE          create FILE (proves the program was started), answer
    slow FILE            start a detached grandchild, write its pid to FILE, sleep (to be interrupted)
    waitkill FILE        first attempt: write its pid to FILE and wait to be killed; then answer
    secret VAR FILE [fail]  write whether VAR is set to FILE, print VAR's value in the answer
                         (with `fail`: as its last line, then exit 1)
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

mode, *args = sys.argv[1:]
sys.stdin.read()


def answer(result, confidence: float) -> None:
    print(json.dumps({"result": result, "confidence": confidence}), flush=True)


if mode == "overlap":
    folder, name, n = Path(args[0]), args[1], int(args[2])
    (folder / f"{name}.start").write_text(repr(time.time()))
    deadline = time.monotonic() + 10
    while len(list(folder.glob("*.start"))) < n and time.monotonic() < deadline:
        time.sleep(0.02)
    (folder / f"{name}.end").write_text(repr(time.time()))
    answer("yes" if name != "c" else "no", {"a": 0.9, "b": 0.8, "c": 0.6}.get(name, 0.5))
elif mode == "killonce":
    state = Path(args[0])
    if not state.exists():
        state.write_text("killed\n")
        print("working on it...", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    with state.open("a") as f:
        f.write("answered\n")
    answer("survived", 0.9)
elif mode == "waitkill":
    state = Path(args[0])
    if not state.exists():
        state.write_text(str(os.getpid()))
        time.sleep(60)
    answer("second wind", 0.9)
elif mode == "marker":
    Path(args[0]).write_text("started\n")
    answer("marked", 0.9)
elif mode == "slow":
    # a grandchild that leaves the agent's session and process group: cleanup must find it anyway
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    Path(args[0]).write_text(str(os.getpid()))
    time.sleep(60)
    answer("too late", 0.1)
elif mode == "secret":
    value = os.environ.get(args[0])
    Path(args[1]).write_text(json.dumps({"set": value is not None, "length": len(value or "")}))
    if len(args) > 2:  # fail, the secret being the program's last words (they go into the error)
        print(f"cannot go on with {value}")
        sys.exit(1)
    answer(f"the secret is {value}", 0.9)
else:
    sys.exit(f"unknown mode {mode}")
