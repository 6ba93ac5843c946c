"""One agent never answers twice for one step: the retry of a dead agent's slot goes to an agent
the step does not use yet, or the slot fails, and a vote short of `min` agents fails clearly.
Real `runner agent serve` processes; one is killed before the run."""

from __future__ import annotations

import os

import pytest
from protocol_helpers import WORKER, poll, serve_process

from runner.api import apply
from runner.context import RunContext
from runner.spec.pattern import parse_pattern
from runner.spec.pool import parse_pool

pytestmark = pytest.mark.pty

VOTE = """
name: vote
steps:
  - id: vote
    agents: {capabilities: [code], min: 2, prefer: [dead]}
    task: "ping"
    timeout: 20s
    aggregation: {type: voting, method: majority}
    retry: {limit: 2, backoff: {initial: 0.01}}
"""


def pool(**endpoints: str) -> str:
    agents = "".join(f"  - {{id: {name}, endpoint: '{url}', capabilities: [code]}}\n"
                     for name, url in endpoints.items())
    return f"kind: pool\nname: remote\nagents:\n{agents}"


def vote(tmp_path, pool_text: str):
    ctx = RunContext(workdir=tmp_path, state_dir=tmp_path / "state", environ=dict(os.environ))
    return apply(parse_pattern(VOTE, "p.yaml"), parse_pool(pool_text, "pool.yaml"), {}, ctx=ctx)


def test_a_two_agent_vote_with_one_dead_agent_fails_instead_of_counting_the_survivor_twice(tmp_path, remote):
    with serve_process("--", *WORKER) as dead, serve_process("--", *WORKER) as alive:
        poll(lambda: remote(alive.urls["http"]).health().healthy, what="a healthy server")
        dead.proc.kill()
        dead.proc.wait(10)
        outcome = vote(tmp_path, pool(dead=dead.urls["http"], alive=alive.urls["http"]))
    assert outcome.exit_code == 3, outcome.result["error"]
    step = outcome.result["steps"][0]
    assert [a["agentId"] for a in step["attempts"] if a["status"] == "ok"] == ["alive"]
    assert {a["agentId"] for a in step["attempts"] if a["status"] != "ok"} == {"dead"}
    message = step["error"]["message"]
    assert message.startswith("step `vote` needs answers from 2 distinct agents for voting, got 1 (alive); "
                              "last failure: dead: "), message


def test_the_retry_goes_to_a_third_agent_and_the_vote_has_two_distinct_voters(tmp_path, remote):
    with (serve_process("--", *WORKER) as dead, serve_process("--", *WORKER) as one,
          serve_process("--", *WORKER) as two):
        for server in (one, two):
            poll(lambda s=server: remote(s.urls["http"]).health().healthy, what="a healthy server")
        dead.proc.kill()
        dead.proc.wait(10)
        text = pool(dead=dead.urls["http"], one=one.urls["http"], two=two.urls["grpc"])
        outcome = vote(tmp_path, text)
    assert outcome.exit_code == 0, outcome.result["error"]
    step = outcome.result["steps"][0]
    voters = sorted(a["agentId"] for a in step["attempts"] if a["status"] == "ok")
    assert voters == ["one", "two"]
    assert step["aggregation"]["votes"] == {"ping": 2}
