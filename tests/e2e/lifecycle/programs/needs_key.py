"""Answers when FAKE_KEY is set; else asks for a login (prints a URL) and waits, like an
agent CLI without credentials."""
import json
import os
import sys
import time

task = sys.stdin.read().strip()
if os.environ.get("FAKE_KEY"):
    print(json.dumps({"result": f"key {os.environ['FAKE_KEY'][:2]}..", "confidence": 0.9}), flush=True)
else:
    print("Login required: open https://login.example.com/device?code=ABCD-1234 to continue", flush=True)
    time.sleep(3600)
