"""A scripted `command` agent for the run report tests; the first argument picks the behaviour.

    answer RESULT CONF        answer RESULT with confidence CONF
    sleep SECS RESULT CONF    wait SECS seconds, then answer
    fail                      say why on stderr and exit 1 (every attempt)
    echo CONF                 answer with the task it was sent (HTML in the task comes back)
"""
import json
import sys
import time

mode, *args = sys.argv[1:]
task = sys.stdin.read()


def answer(result, confidence: float) -> None:
    print(json.dumps({"result": result, "confidence": confidence, "reasoning": f"{mode} as told"}), flush=True)


if mode == "answer":
    answer(args[0], float(args[1]))
elif mode == "sleep":
    time.sleep(float(args[0]))
    answer(args[1], float(args[2]))
elif mode == "fail":
    print("flaky tool: the disk is full", file=sys.stderr, flush=True)
    sys.exit(1)
elif mode == "echo":
    answer(task.strip(), float(args[0]))
