"""Resume and ``land: apply``: a step whose landing changed the tree its workspaces came from.

Landing a change with ``apply`` moves the source from the state the step started from
(``before``) to another (``after``); the step's fingerprint holds ``before``. The step's
``step_finished`` records both (``landedOver``), and a resume reads them back as the earlier
run's *landings* (``after`` -> ``before``). When the resumed run finds a source in a state the
earlier run's landings left, it also tries the states they started from (``bases``), so the
landed step and the steps that worked in the same tree before it are reused instead of run
(and landed) again. A step that landed is reused only while its landing is still there
(``landing_holds``: its ``after`` is the source's state now or one the later landings started
from); otherwise (the user reverted or changed the tree) it runs, and lands, again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runner.resume.fingerprint import source_state


def states_around(workspaces: Any, source_step: str) -> dict[str, str] | None:
    """``{"before", "after"}``: the states of ``source_step``'s source that a landing just moved
    between (None when that step made no workspace, or the landing changed nothing)."""
    pair = workspaces.then_and_now(source_step)
    if pair is None:
        return None
    before, after = (source_state(s) for s in pair)
    return {"before": before, "after": after} if before != after else None


def bases(state: str | None, landings: Mapping[str, str]) -> list[str | None]:
    """``state``, then the state each earlier landing started from, back to the first."""
    out: list[str | None] = [state]
    while state is not None and landings.get(state) not in (None, *out):  # (a cycle: the tree landed back)
        state = landings[state]
        out.append(state)
    return out


def landing_holds(record: Mapping[str, Any], now: str | None, landings: Mapping[str, str]) -> bool:
    """Whether the landing an earlier success made (``record``'s ``landedOver``) is still in the
    source, whose state is ``now``; True for a success that landed nothing with ``apply``."""
    over = record.get("landedOver")
    if not isinstance(over, dict):
        return True
    return over.get("after") in bases(now, landings)
