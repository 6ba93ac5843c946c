"""A per-task agent: reads the task on stdin and answers with JSON.

`sleep N ...` sleeps N seconds first (printing a tick per 0.1 s); `fail` exits 1 without an
answer; anything else is answered upper-cased with confidence 0.9 and a usage of one token per character.
"""
import json
import sys
import time

task = sys.stdin.read().strip()
if task == "fail":  # no output at all: the command type reports a task failure
    sys.exit(1)
print(f"working on {task!r}", flush=True)
if task.startswith("sleep "):
    seconds = float(task.split()[1])
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        print("tick", flush=True)
        time.sleep(0.1)
usage = {"input_tokens": len(task), "output_tokens": len(task), "turns": 1}  # travels over both protocols
print(json.dumps({"result": task.upper(), "confidence": 0.9, "reasoning": "upper-cased", "usage": usage}), flush=True)
