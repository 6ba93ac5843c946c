"""A long-lived REPL: prompt `agent> `; answers each line with JSON; `slow` hangs,
`die` exits mid-task, `login` asks for a login; `env NAME` prints a variable."""
import json
import os
import time

print("FakeREPL v1 starting", flush=True)
while True:
    try:
        line = input("agent> ").strip()
    except EOFError:
        break
    if line == "slow":
        time.sleep(3600)
    elif line == "die":
        print("about to die", flush=True)
        os._exit(3)
    elif line == "login":
        print("Session expired. Please log in at https://login.example.com/x", flush=True)
    elif line.startswith("env "):
        print(json.dumps({"result": os.environ.get(line[4:], ""), "confidence": 1.0}), flush=True)
    elif line == "garbage":
        print("no json here {{{", flush=True)
    else:
        print(f"working on {line!r}", flush=True)
        print(json.dumps({"result": line.upper(), "confidence": 0.8, "reasoning": "upper-cased"}), flush=True)
