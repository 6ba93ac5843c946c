"""Load pool files into the frozen ``Pool`` model (defaults applied, units converted)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.spec.agentdef import agentdef_from_data
from runner.spec.document import load_checked, paused_gc, read_text
from runner.spec.models import (
    AgentTemplate,
    LoginPolicy,
    Pool,
    RegistryConfig,
    RuntimeConfig,
    StaticAgent,
)
from runner.spec.poolchecks import check_pool
from runner.spec.units import parse_duration
from runner.spec.yamlload import YamlDoc


def load_pool(path: str | Path) -> Pool:
    """Read, check and build the pool in ``path``; SpecError lists every problem."""
    return parse_pool(read_text(path), str(path))


def parse_pool(text: str, source: str = "<memory>", *, doc: YamlDoc | None = None) -> Pool:
    """Check and build a pool from YAML ``text`` (``source`` names it in messages).

    ``doc``: the text already parsed by ``load_yaml`` (saves parsing it twice).
    """
    with paused_gc():  # building the model allocates as much as checking it (document.paused_gc)
        doc = load_checked(text, source, "pool", check_pool, doc)
        return build_pool(doc.data, source, doc.marks)


def build_pool(d: dict[str, Any], source: str, marks: Mapping[str, tuple[int, int]]) -> Pool:
    """The Pool for schema-valid data ``d``."""
    runtimes = d.get("runtimes") or [{"type": "local"}]
    return Pool(
        name=d["name"],
        agents=tuple(
            StaticAgent(id=a["id"], name=a.get("name", a["id"]), endpoint=a.get("endpoint"),
                        definition=agentdef_from_data(a, source=source, checked=True))
            for a in d.get("agents") or ()
        ),
        registries=tuple(
            RegistryConfig(type=r["type"], options=plugin_options(r, ("type",))) for r in d.get("registries") or ()
        ),
        runtimes=tuple(
            RuntimeConfig(type=r["type"], priority=r.get("priority", 0), max_agents=r.get("maxAgents", 50),
                          options=plugin_options(r, ("type", "priority", "maxAgents")))
            for r in runtimes
        ),
        templates=tuple(
            AgentTemplate(name=t["name"], max_instances=t.get("maxInstances", 10),
                          definition=agentdef_from_data(t, source=source, checked=True))
            for t in d.get("templates") or ()
        ),
        warm_pool=dict(d.get("warmPool") or {}),
        health_interval=parse_duration(d.get("healthInterval", 30.0)),
        auto_restart=d.get("autoRestart", False),
        auth=dict(d.get("auth") or {}),
        pricing={k: dict(v) for k, v in (d.get("pricing") or {}).items()},
        login=LoginPolicy(on_required=(d.get("login") or {}).get("onRequired", "fail"),
                          credentials={k: v["env"] for k, v in ((d.get("login") or {}).get("credentials") or {}).items()
                                       if isinstance(v, dict)}),
        source=source,
        marks=marks,
    )


def plugin_options(entry: dict[str, Any], own: tuple[str, ...]) -> dict[str, Any]:
    """The plug-in's options of a ``runtimes[]``/``registries[]`` entry: its keys besides the
    pool's ``own`` ones, written at the entry's top level or nested under ``options:`` (both
    forms are documented; ``runner validate`` refuses a key given in both)."""
    nested = entry.get("options")
    flat = {k: v for k, v in entry.items() if k not in own and k != "options"}
    return {**(nested if isinstance(nested, dict) else {}), **flat}
