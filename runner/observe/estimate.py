"""What a run of a pattern will likely cost, for ``runner plan``: from a cassette (``--replay``)
or from the past runs of the same pattern (name and version) in the state directory.

- A cassette: the usage its recorded answers report, summed (tokens and cost; a cassette holds
  no times). Its pattern must be the planned one (``Cassette.check``).
- Past runs: the median tokens, cost and duration of the latest ``RUNS`` finished runs of the
  pattern (the succeeded ones when there are any: a failed run stopped early and cost less).

Nothing is invented: a figure no source holds is left out.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.agents import usage as usage_
from runner.journal import list_runs
from runner.replay.cassette import load

RUNS = 5  # past runs a median is taken over


@dataclass(frozen=True, kw_only=True)
class Estimate:
    source: str  # where the figures come from, for people
    tokens: int | None = None
    cost: float | None = None
    seconds: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "tokens": self.tokens, "cost": self.cost, "time": self.seconds}


def from_cassette(path: Path, pattern: Any) -> Estimate:
    """The recorded answers' usage; ``UsageError`` for a bad cassette or one of another pattern."""
    cassette = load(path)
    cassette.check(pattern)
    answers = [e["answer"] for found in cassette.entries.values() for e in found if isinstance(e.get("answer"), dict)]
    used = usage_.total(a.get("usage") for a in answers)
    return Estimate(source=f"the cassette {path} ({len(answers)} recorded answers; it holds no times)",
                    tokens=usage_.tokens(used) if set(used) & set(usage_.TOKEN_FIELDS) else None,
                    cost=used.get("cost_usd"))


def from_runs(state_dir: Path, pattern: Any) -> Estimate | None:
    """Medians over the latest finished runs of ``pattern``; None when there is none."""
    finished = []
    for run in list_runs(state_dir):
        result = run.result or {}
        made = result.get("pattern") or {}
        if made.get("name") == pattern.name and str(made.get("version")) == str(pattern.version) \
                and result.get("status") in ("succeeded", "failed"):
            finished.append(result)
    good = [r for r in finished if r["status"] == "succeeded"] or finished
    latest = good[:RUNS]
    if not latest:
        return None
    tokens = [usage_.tokens(r["usage"]) for r in latest
              if set(r.get("usage") or {}) & set(usage_.TOKEN_FIELDS)]
    costs = [float(r["usage"]["cost_usd"]) for r in latest if "cost_usd" in (r.get("usage") or {})]
    times = [r["durationMs"] / 1000 for r in latest if isinstance(r.get("durationMs"), int | float)]
    kind = "succeeded" if latest[0]["status"] == "succeeded" else "finished"
    return Estimate(source=f"the median of the latest {len(latest)} {kind} run(s) of {pattern.name} "
                           f"{pattern.version} in {Path(state_dir) / 'runs'}",
                    tokens=int(statistics.median(tokens)) if tokens else None,
                    cost=statistics.median(costs) if costs else None,
                    seconds=statistics.median(times) if times else None)


def describe(est: Estimate, budget: Any = None) -> str:
    """``estimate: ~12,000 tokens, ~$0.0420, ~45.0s (source)``, and which budget it would reach."""
    parts = ([f"~{est.tokens:,} tokens"] if est.tokens is not None else []) + \
        ([f"~${est.cost:.4f}"] if est.cost is not None else []) + \
        ([f"~{est.seconds:.1f}s"] if est.seconds is not None else [])
    line = f"estimate: {', '.join(parts) or 'no usage reported'} ({est.source})"
    over = []
    if budget is not None:
        if budget.tokens is not None and est.tokens is not None and est.tokens >= budget.tokens:
            over.append(f"tokens budget {budget.tokens}")
        if budget.cost is not None and est.cost is not None and est.cost >= budget.cost:
            over.append(f"cost budget ${budget.cost:g}")
        if budget.time is not None and est.seconds is not None and est.seconds >= budget.time:
            over.append(f"time budget {budget.time:g}s")
    return line + (f"\nwarning: the estimate reaches the run's {', '.join(over)}" if over else "")
