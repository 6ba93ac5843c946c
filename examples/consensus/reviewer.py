"""A stand-in reviewer with a fixed temperament: answers yes/no to a question, with confidence.

Real patterns put `claude`, `codex`, `gemini` or `aider` agents here; this script lets the
example run anywhere with no API key. Usage: reviewer.py cautious|optimistic|pragmatic
"""

import json
import sys

role = sys.argv[1]
question = sys.stdin.read().strip().lower()
risky = any(word in question for word in ("friday", "untested", "migration", "rewrite", "prod"))
if role == "cautious":
    answer, confidence = ("no", 0.9) if risky else ("yes", 0.6)
elif role == "optimistic":
    answer, confidence = "yes", 0.7
else:  # pragmatic
    answer, confidence = ("no", 0.8) if "untested" in question else ("yes", 0.75)
reason = f"{role} reviewer: {'risky' if risky else 'looks safe'}"
print(json.dumps({"result": answer, "confidence": confidence, "reasoning": reason}))
