"""Sixteen agents of one real CLI started at once (long-lived TUIs against the vendor mock), as
a run with 16 agents starts them: each reaches ready, answers its own task (its own token comes
back, never a neighbour's), keeps its own config home, and nothing is left behind. A race on a
port, a file or a config (two agents sharing a home, a seeded file written twice, a lock) shows
up as a failed start, a crossed answer or a shared path."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from runner.agents.model import AgentInfo, TaskRequest
from runner.runtimes.local import LocalRuntime
from tests.helpers.clis import definition, leftovers, make_ctx
from tests.helpers.vendor_mock import VendorMock

pytestmark = [pytest.mark.cli, pytest.mark.pty]
KEY = {"RUNNER_TEST_KEY": "sk-test-0123456789abcdefghijklmn"}
N = 16
WORDS = ["okapi", "lemur", "quokka", "tapir", "dingo", "koala", "numbat", "wombat",
         "bilby", "dugong", "gecko", "ibis", "jackal", "kudu", "lynx", "marmot"]


@pytest.mark.timeout(300)  # sixteen TUIs starting at once on two cores
@pytest.mark.parametrize("cli", ["claude"])
def test_sixteen_agents_of_one_cli_start_at_once_without_a_race(cli, tmp_path):
    with VendorMock() as mock:
        ctx = make_ctx(tmp_path, KEY)
        runtime = LocalRuntime(ctx, {"grace": 1.0})
        d = definition(cli, mock.url, mode="long-lived")
        handles = [runtime.spawn(AgentInfo(id=f"a{i}", name=f"a{i}", type=cli, definition=d)) for i in range(N)]
        try:
            with ThreadPoolExecutor(N) as pool:
                list(pool.map(lambda h: h.start(), handles))  # all at once, as a run's spawn does
                homes = [(ctx.run_dir / "agents" / h.id / "home") for h in handles]
                assert all(h.is_dir() for h in homes) and len({os.path.realpath(h) for h in homes}) == N
                results = list(pool.map(
                    lambda hw: hw[0].execute(TaskRequest(task_id=f"t-{hw[1]}", description=f"Say it. TOKEN:{hw[1]}",
                                                         timeout=120)), zip(handles, WORDS, strict=True)))
        finally:
            for h in handles:
                h.stop()
            assert runtime.cleanup() == []
    for result, word in zip(results, WORDS, strict=True):
        assert f"The token is {word}." in result.result, (word, result.result)
        assert not any(f"The token is {w}." in result.result for w in WORDS if w != word)
    for h in handles:
        assert leftovers(h.id, ctx) == []
