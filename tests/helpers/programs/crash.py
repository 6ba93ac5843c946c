"""Crashes mid-task: `exit` exits 1 with no answer, `kill` kills itself with SIGKILL."""
import os
import signal
import sys

how = sys.argv[1] if len(sys.argv) > 1 else "exit"
sys.stdin.read()
print("working on it...", flush=True)
if how == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
print("Traceback (most recent call last): boom", file=sys.stderr)
sys.exit(1)
