"""The gate: reads the vote's verdict; fails the step (exit 1, no answer) unless it is `pass`.

A `command` agent that exits non-zero but printed an explicit answer (JSON, or a `CONFIDENCE:`
line) still answers, so a closed gate must not print one.
"""

import sys

verdict = sys.stdin.read().strip()
if verdict != "pass":
    print(f"gate closed: the verdict is {verdict!r}, not 'pass'")
    sys.exit(1)
print(f"verdict: {verdict}")
print("CONFIDENCE: 1.0")
