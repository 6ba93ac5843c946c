"""A deterministic stand-in for a coding agent: it really edits calc.py in its working directory.

Usage: fixer.py STYLE, the task on stdin. Styles:
  careful  implements add() in one line
  verbose  implements add() with type checks and adds NOTES.md (a bigger change)
  hasty    first gets it wrong (a - b); fixed when the task carries a failed check's feedback
"""

import re
import sys
from pathlib import Path

style = sys.argv[1]
task = sys.stdin.read()
calc = Path("calc.py")
source = calc.read_text()
feedback = "previous attempt failed" in task.lower()
if style == "careful":
    body = "    return a + b\n"
elif style == "verbose":
    body = ("    if not isinstance(a, int | float) or not isinstance(b, int | float):\n"
            "        raise TypeError('add() takes numbers')\n"
            "    total = a\n"
            "    total += b\n"
            "    return total\n")
    Path("NOTES.md").write_text("add() checks its arguments' types.\n")
else:
    body = "    return a + b\n" if feedback else "    return a - b\n"
calc.write_text(re.sub(r"(def add\(a, b\):\n    \"\"\".*?\"\"\"\n)    raise NotImplementedError\n", r"\g<1>" + body.replace("\\", "\\\\"), source, flags=re.S))
print(f"{style}: implemented add() in calc.py{' after the feedback' if feedback else ''}")
print("CONFIDENCE: 0.8")
