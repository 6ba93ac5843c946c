"""Answers with its environment as JSON (the result is a dict of variables)."""
import json
import os
import sys

sys.stdin.read()
print(json.dumps({"result": dict(os.environ), "confidence": 1.0}))
