#!/bin/sh
# Run the best-of-n example: a throw-away git repository made from project/ (with an
# uncommitted edit), three agents, `python3 test_calc.py` as the verify, the best change
# landed as a branch. Run from the repository root: sh examples/best-of-n/run.sh
set -eu
repo=$(mktemp -d)
cp examples/best-of-n/project/* "$repo"
git -C "$repo" init -q && git -C "$repo" add -A
git -C "$repo" -c user.name=example -c user.email=example@localhost commit -qm "calc: add() to do"
echo "# an uncommitted note: runner leaves it alone" >> "$repo/calc.py"
${RUNNER:-.venv/bin/runner} apply builtin:best-of-n --pool examples/best-of-n/pool.yaml \
    --input repo="$repo" --input verify="python3 test_calc.py" --input branch=best-of-n \
    --input task="Implement add() in calc.py so that test_calc.py passes."
echo "landed: $(git -C "$repo" log --oneline -1 best-of-n)"
git -C "$repo" show --stat best-of-n | tail -3
