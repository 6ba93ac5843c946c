"""Run report benchmark: `runner report` of a 1,000-step run, next to merely parsing its journal.

Makes a real 1,000-step run (10 chains of 100 steps, one in-process agent), then times building
the run model from the journal and rendering the HTML page, as `runner report` does, against
json-parsing every journal line (the floor any reader pays). Prints both, their ratio, and the
render time as a share of the 2 s budget (target: <= 1.0 of the budget); the page's size.

Run: .venv/bin/python bench/report.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from _timing import best

from runner.agents.inprocess import PythonAgent
from runner.api import apply
from runner.context import RunContext
from runner.observe.html import render_report
from runner.observe.runmodel import load_model
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

BUDGET = 2.0


def make_run(n: int, state: Path) -> Path:
    steps = "".join(f"  - id: s{i}\n    agents: {{capabilities: [work]}}\n    task: part {i} of the job\n"
                    + (f"    needs: [s{i - 10}]\n" if i >= 10 else "") for i in range(n))
    agent = PythonAgent("worker", lambda r: {"summary": "done: " + r.description * 20}, capabilities=("work",))
    ctx = RunContext(state_dir=state)
    outcome = apply(parse_pattern(f"name: big\nsteps:\n{steps}", "big.yaml"),
                    parse_pool("kind: pool\nname: bench\n", "pool.yaml"), {}, ctx=ctx, handles=[agent])
    assert outcome.exit_code == 0, outcome.result["error"]
    return ctx.run_dir


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a 100-step run (a smoke run)")
    args = parser.parse_args()
    n = 100 if args.quick else 1000
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = make_run(n, Path(tmp))
        lines = (run_dir / "events.jsonl").read_bytes().splitlines()
        parse = best(lambda: [json.loads(line) for line in lines])
        page = ""

        def report() -> None:
            nonlocal page
            page = render_report(load_model(run_dir))

        took = best(report)
        print(f"runner report of a {n}-step run: {took * 1000:.0f} ms ({took / BUDGET:.2f} of the {BUDGET:g} s budget) "
              f"| parsing the journal alone {parse * 1000:.0f} ms (report = {took / parse:.1f}x) "
              f"| page {len(page.encode()) / 1e6:.2f} MB  [target <= 1.00 of the budget, <= 5 MB]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
