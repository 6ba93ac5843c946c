"""Early-decided vote benchmark: agent-seconds of a 5-voter majority vote whose first 3 answers
agree, decided early (the 2 slow voters cancelled) vs the same vote with `complete: true`.

Five real per-task `command` agents: three answer at once, two take `--slow` seconds (default 3)
to give the same answer. Agent-seconds = the sum of every attempt's duration (what the agents
are paid for; tokens follow them once usage is reported). Prints both, their ratio (target
<= 0.65) and whether the two outputs are identical (they must be).

Escalation (`aggregation.escalate: true`, min 3 of max 5, every voter taking `--each` seconds):
agent-seconds and wall of a vote whose first 3 answers agree, and of one whose first 3 split 2-1
(a 4th is asked, which decides it), next to the same votes asking all 5 at once; outputs compared.

Run: .venv/bin/python bench/early_vote.py [--slow S] [--each S]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from runner.api import apply
from runner.context import RunContext
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

VOTER = ("import json, sys, time; sys.stdin.read(); time.sleep(float(sys.argv[1])); "
         "print(json.dumps({'result': sys.argv[2], 'confidence': 0.9}))")
AGENT = ("import json, sys, time; t = sys.stdin.read().strip(); time.sleep(float(sys.argv[1])); "
         "print(json.dumps({'result': 'answer to ' + t, 'confidence': 0.9}))")


def vote(tmp: Path, complete: bool, slow: float) -> tuple[float, float, object]:
    pattern = f"""
name: vote
steps:
  - id: v
    agents: {{capabilities: [v], min: 3, max: 5}}
    task: which option
    aggregation: {{type: voting, method: majority, complete: {str(complete).lower()}}}
"""
    agents = "".join(f"""  - id: a{i}
    command: [{sys.executable}, -c, "{AGENT}", "{0 if i < 3 else slow}"]
    capabilities: [v]
""" for i in range(5))
    ctx = RunContext(workdir=tmp, state_dir=tmp / "state", environ=dict(os.environ))
    t0 = time.perf_counter()
    outcome = apply(parse_pattern(pattern, "vote.yaml"), parse_pool(f"kind: pool\nname: p\nagents:\n{agents}", "p.yaml"),
                    {}, ctx=ctx)
    wall = time.perf_counter() - t0
    assert outcome.exit_code == 0, outcome.result["error"]
    step = outcome.result["steps"][0]
    return sum(a["durationMs"] for a in step["attempts"]) / 1000, wall, step["output"]


def escalated(tmp: Path, escalate: bool, answers: list[str], each: float) -> tuple[float, float, object, int]:
    pattern = f"""
name: vote
steps:
  - id: v
    agents: {{capabilities: [v], min: 3, max: 5}}
    task: which option
    aggregation: {{type: voting, method: majority, complete: true, escalate: {str(escalate).lower()}}}
"""
    agents = "".join(f"""  - id: a{i}
    command: [{sys.executable}, -c, "{VOTER}", "{each}", "{answer}"]
    capabilities: [v]
""" for i, answer in enumerate(answers))
    ctx = RunContext(workdir=tmp, state_dir=tmp / "state", environ=dict(os.environ))
    t0 = time.perf_counter()
    outcome = apply(parse_pattern(pattern, "vote.yaml"), parse_pool(f"kind: pool\nname: p\nagents:\n{agents}", "p.yaml"),
                    {}, ctx=ctx)
    wall = time.perf_counter() - t0
    assert outcome.exit_code == 0, outcome.result["error"]
    step = outcome.result["steps"][0]
    asked = len({a["agentId"] for a in step["attempts"]})
    return sum(a["durationMs"] for a in step["attempts"]) / 1000, wall, step["output"], asked


def bench_escalation(each: float) -> None:
    with tempfile.TemporaryDirectory() as d:
        for label, answers in (("first 3 agree", ["A"] * 5), ("first 3 split 2-1", ["A", "A", "B", "A", "B"])):
            all_s, all_wall, all_out, _ = escalated(Path(d) / f"all-{len(label)}", False, answers, each)
            esc_s, esc_wall, esc_out, asked = escalated(Path(d) / f"esc-{len(label)}", True, answers, each)
            print(f"escalate, {label}: {asked} of 5 agents asked, {esc_s:5.2f} vs {all_s:5.2f} agent-s "
                  f"({esc_s / all_s:.2f} x), wall {esc_wall:4.2f} vs {all_wall:4.2f} s; "
                  f"outputs identical: {esc_out == all_out}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--slow", type=float, default=3.0)
    ap.add_argument("--each", type=float, default=0.5, help="seconds every voter takes (escalation)")
    ap.add_argument("--quick", action="store_true", help="(accepted for run_all.py; the bench is short)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        full_s, full_wall, full_out = vote(Path(d) / "full", True, args.slow)
        early_s, early_wall, early_out = vote(Path(d) / "early", False, args.slow)
    print(f"full vote:  {full_s:6.2f} agent-s, wall {full_wall:5.2f} s")
    print(f"early vote: {early_s:6.2f} agent-s, wall {early_wall:5.2f} s")
    print(f"agent-seconds early / full: {early_s / full_s:.2f} (target <= 0.65); outputs identical: "
          f"{early_out == full_out}")
    bench_escalation(args.each)


if __name__ == "__main__":
    main()
