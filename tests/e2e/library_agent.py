"""A scripted `command` agent for the built-in library's tests (tests/e2e/test_e2e_library.py):
it reads the task the built-in pattern rendered and answers from it, so a test sees what each
step was given. The first argument picks the role:

    review FIRST LATER CONF   verdict FIRST in round 1, LATER in rounds 2 and 3, with confidence CONF
    write                     "draft" first; a revision appends "+N" (N critiques it was given)
    critique NAME             a critique signed NAME
    map                       the item in upper case
    reduce                    every answer it was given, joined by "+"
    answer TEXT CONF          TEXT, with confidence CONF
    judge WORD                the number of the first answer containing WORD
    classify                  `review` when the request asks to merge, `writing` when it asks to
                              write, else `question`
"""
import json
import re
import sys

role, *args = sys.argv[1:]
task = sys.stdin.read()


def answer(result, confidence: float = 0.9, reasoning: str = "") -> None:
    print(json.dumps({"result": result, "confidence": confidence, "reasoning": reasoning}), flush=True)


if role == "review":
    later = re.search(r"^Round [23]", task, re.M) is not None
    answer(args[1] if later else args[0], float(args[2]), f"seen {'again' if later else 'once'}")
elif role == "write":
    if "Critiques:" in task:
        previous = task.split("Your answer:\n", 1)[1].split("\n\nCritiques:", 1)[0].strip()
        critiques = re.findall(r"^- ", task.split("Critiques:", 1)[1], re.M)
        answer(f"{previous}+{len(critiques)}")
    else:
        answer("draft")
elif role == "critique":
    answer(f"{args[0]}: say more")
elif role == "map":
    answer(re.search(r"^Item \d+: (.*)$", task, re.M).group(1).upper())
elif role == "reduce":
    answer("+".join(re.findall(r"^Answer \d+ \(item .*?\): (.*)$", task, re.M)))
elif role == "answer":
    answer(args[0], float(args[1]))
elif role == "judge":
    blocks = re.split(r"^Answer (\d+):\n", task, flags=re.M)[1:]
    picks = [int(n) for n, text in zip(blocks[::2], blocks[1::2], strict=True) if args[0] in text]
    answer(picks[0], 0.8, f"answer {picks[0]} mentions {args[0]}")
elif role == "classify":
    request = task.split("Request: ", 1)[1].lower()
    answer("review" if "merge" in request else "writing" if "write" in request else "question")
else:
    sys.exit(f"unknown role {role}")
