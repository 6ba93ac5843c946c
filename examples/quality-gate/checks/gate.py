"""The gate: reads the vote's verdict; exits 1 (the step fails) unless it is `pass`."""

import sys

verdict = sys.stdin.read().strip()
print(f"verdict: {verdict}")
print("CONFIDENCE: 1.0")
sys.exit(0 if verdict == "pass" else 1)
