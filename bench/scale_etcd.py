"""The etcd half of ``bench/scale.py``: a real etcd with N agents already registered in it.

"Selection only": the agents are records in etcd, no process serves them. Each record is the
one an agent publishes (``runner.registries.etcd_record.record_for``, the value
``EtcdRegistration`` writes), under one lease, with no endpoint and a per-task ``command``
definition (the sleeper): capabilities ``[sleep, shard-K]``, expertise ``sleep`` rising with
its number. A run lists the prefix once (``runner.plan.compile.discover``), selection takes
the most expert one, and the local runtime starts it from its definition, as it starts a pool
agent. So the run differs from the local one only in where its agent was found.

``selection_lines()`` times that discovery + plan in this process with N / 4 and N agents
registered (linear: × 4).
"""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.helpers: the tests' etcd server

from runner.agents.model import AgentInfo  # noqa: E402
from runner.context import RunContext  # noqa: E402
from runner.plan.compile import compile_plan, discover  # noqa: E402
from runner.registries.etcd_client import EtcdClient  # noqa: E402
from runner.registries.etcd_record import record_for  # noqa: E402
from runner.spec import load_file, parse_file  # noqa: E402
from runner.spec.models import AgentDef, Pattern, Pool  # noqa: E402
from tests.helpers.etcd import EtcdServer  # noqa: E402

PREFIX = "/scale/agents/"
QUARTER = "/scale/quarter/"


class Registered:
    def __init__(self, d: Path, server: EtcdServer, count: int) -> None:
        self.d, self.server, self.count = d, server, count
        self.pool_entry = f"{{type: etcd, endpoints: ['{server.url}'], prefix: '{PREFIX}', timeout: 5s}}"

    def range_reads(self) -> int:
        """etcd's own count of range requests served so far."""
        with urllib.request.urlopen(self.server.url + "/metrics", timeout=5) as resp:
            for line in resp.read().decode().splitlines():
                if line.startswith("etcd_mvcc_range_total "):
                    return int(float(line.split()[1]))
        raise RuntimeError("etcd_mvcc_range_total not in etcd's /metrics")

    def selection_lines(self) -> list[str]:
        """Discovery (one range read) + selection + plan of the pattern, in this process, with
        N / 4 and N agents registered: median of 5 each."""
        times = {}
        for prefix, count in ((QUARTER, self.count // 4), (PREFIX, self.count)):
            times[count] = statistics.median(self._plan_once(prefix) for _ in range(5))
        q, n = self.count // 4, self.count
        many = self._many_steps(1000)
        return [f"[etcd, {n} registered] selection + plan of a 1,000-step pattern (10 distinct `agents:`) among "
                f"the {n}: {1000 * many:.0f} ms ({1e6 * many / 1000:.0f} µs per step)",
                f"[etcd, {n} registered] discovery + selection + plan in process: {1000 * times[q]:.0f} ms with "
                f"{q} registered, {1000 * times[n]:.0f} ms with {n} (× {times[n] / times[q]:.2f}; linear: × 4.00; "
                f"{1e6 * times[n] / n:.0f} µs per registered agent)"]

    def _many_steps(self, steps: int) -> float:
        """Seconds to compile ``steps`` one-agent steps (each asking for ``sleep`` and one of 10
        shards) among the registered agents, discovered once beforehand."""
        pool = load_file(self.d / "pool.yaml")
        assert isinstance(pool, Pool)
        candidates = discover(RunContext(state_dir=self.d / "plan-state"), pool)
        text = "name: many\nsteps:\n" + "".join(
            f"  - id: s{i}\n    agents: {{capabilities: [sleep, shard-{i % 10}]}}\n    task: t\n" for i in range(steps))
        pattern = parse_file(text, "many.yaml")
        assert isinstance(pattern, Pattern)
        t0 = time.perf_counter()
        compile_plan(pattern, pool, {}, RunContext(state_dir=self.d / "plan-state"), candidates)
        return time.perf_counter() - t0

    def _plan_once(self, prefix: str) -> float:
        pattern, pool = load_file(self.d / "scale.yaml"), load_file(self.d / "pool.yaml")
        assert isinstance(pattern, Pattern) and isinstance(pool, Pool)
        registry = dataclasses.replace(pool.registries[0], options={**pool.registries[0].options, "prefix": prefix})
        pool = dataclasses.replace(pool, registries=(registry,))
        t0 = time.perf_counter()
        plan = compile_plan(pattern, pool, {"n": 10}, RunContext(state_dir=self.d / "plan-state"))
        took = time.perf_counter() - t0
        assert plan.selections["each"].agents, "no agent selected"
        return took


@contextmanager
def registered(d: Path, agent: Sequence[str], count: int) -> Iterator[Registered]:
    """A real etcd with ``count`` agents under ``PREFIX`` (and ``count // 4`` under
    ``QUARTER``), all gone with the server at the end."""
    with EtcdServer(d) as server:
        client = EtcdClient(server.url)
        try:
            lease = client.grant(3600)
            for prefix, n in ((PREFIX, count), (QUARTER, count // 4)):
                for i in range(n):
                    info = _agent(i, n, agent)
                    client.put(prefix + info.id, json.dumps(record_for(info)), lease=lease)
        finally:
            client.close()
        yield Registered(d, server, count)


def _agent(i: int, n: int, agent: Sequence[str]) -> AgentInfo:
    caps = ("sleep", f"shard-{i % 10}")
    return AgentInfo(id=f"sleeper-{i:04d}", name=f"sleeper {i}", type="command", capabilities=caps,
                     expertise={"sleep": round((i + 1) / n, 4)},
                     definition=AgentDef(type="command", command=tuple(agent), capabilities=caps), source="etcd")
