"""Reads the task from stdin (or argv), answers with a JSON object and a confidence."""
import json
import os
import sys

task = " ".join(sys.argv[1:]) if len(sys.argv) > 1 else sys.stdin.read().strip()
print("\x1b[1mthinking...\x1b[0m")
print(json.dumps({"result": f"echo: {task}", "confidence": 0.9, "reasoning": "it was asked",
                  "run_id": os.environ.get("RUNNER_RUN_ID", "")}))
