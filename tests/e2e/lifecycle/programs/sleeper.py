"""Reads the task, sleeps argv[1] seconds (printing nothing), answers with JSON."""
import json
import sys
import time

task = sys.stdin.read().strip()
time.sleep(float(sys.argv[1]))
print(json.dumps({"result": "done", "confidence": 0.9}), flush=True)
