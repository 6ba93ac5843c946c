"""Semantic checks of a pool, and of a pattern against the pool it will run on.

Plug-in names are checked against the literal registries (``AGENT_TYPES``, ``RUNTIMES``,
``REGISTRIES``); what the pool says to each plug-in, against its declarations
(``runner.spec.pluginchecks``).
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from runner.agents.types import AGENT_TYPES
from runner.errors import Diagnostic
from runner.nearmiss import suggest
from runner.registries import REGISTRIES, capabilities
from runner.runtimes import RUNTIMES
from runner.spec.checks import regex_error
from runner.spec.compose import callee_of, short
from runner.spec.diagnose import Reporter
from runner.spec.pluginchecks import check_plugins
from runner.spec.yamlload import mark_of

_SECRET_NAME = re.compile(r"(API_?KEY|TOKEN|SECRET|PASSWORD|PASSWD)$", re.IGNORECASE)
_AGENT_KEYS = ("agents", "templates")


def check_pool(data: Any, rep: Reporter) -> None:
    """Add every semantic problem of pool ``data`` to ``rep``."""
    if not isinstance(data, dict):
        return
    for key, id_key, what in (("agents", "id", "agent id"), ("templates", "name", "template name")):
        seen: dict[str, int] = {}
        for i, entry in enumerate(_list(data.get(key))):
            base = f"$.{key}[{i}]"
            ident = entry.get(id_key)
            if isinstance(ident, str):
                if ident in seen:
                    rep.add(f"{base}.{id_key}", f"duplicate {what} `{ident}` (first at line {seen[ident]})",
                            at_value=True)
                else:
                    seen[ident] = rep.marks.get(base, (0, 0))[0]
            _check_agent(entry, base, rep, AGENT_TYPES, RUNTIMES, has_endpoint=key == "agents")
    for key, registry, what in (("registries", REGISTRIES, "registry"), ("runtimes", RUNTIMES, "runtime")):
        for i, entry in enumerate(_list(data.get(key))):
            kind = entry.get("type")
            if isinstance(kind, str) and kind not in registry:
                rep.add(f"$.{key}[{i}].type", f"unknown {what} `{kind}` ({suggest(kind, registry)})", at_value=True)

    check_plugins(data, rep)
    names = [n for t in _list(data.get("templates")) if isinstance(n := t.get("name"), str)]
    warm = data.get("warmPool")
    if isinstance(warm, dict):
        for name in warm:
            if name not in names:
                hint = suggest(name, names) if names else "the pool has no templates"
                rep.add(f"$.warmPool.{name}", f"unknown template `{name}` ({hint})")


def _list(value: Any) -> list[dict[str, Any]]:
    return [e if isinstance(e, dict) else {} for e in value] if isinstance(value, list) else []


def _check_agent(entry: dict[str, Any], base: str, rep: Reporter, types: Any, runtimes: Any,
                 *, has_endpoint: bool) -> None:
    kind = entry.get("type", "command")
    if isinstance(kind, str) and kind not in types:
        rep.add(f"{base}.type", f"unknown agent type `{kind}` ({suggest(kind, types)})", at_value=True)
    runtime = entry.get("runtime")
    if isinstance(runtime, str) and runtime not in runtimes:
        rep.add(f"{base}.runtime", f"unknown runtime `{runtime}` ({suggest(runtime, runtimes)})", at_value=True)
    if kind == "command" and "command" not in entry and not (has_endpoint and entry.get("endpoint")):
        needs = "`command` or `endpoint`" if has_endpoint else "`command`"
        rep.add(base, f"an agent of type `command` needs {needs}")
    if kind == "command" and entry.get("mode") == "long-lived" and "readyPattern" not in entry:
        rep.add(f"{base}.mode", "a long-lived `command` agent needs `readyPattern` (its prompt, as a regex)")
    if isinstance(entry.get("command"), str):
        try:
            shlex.split(entry["command"])
        except ValueError as exc:
            rep.add(f"{base}.command", f"cannot split the command into words: {exc}", at_value=True)
    for key in ("readyPattern", "loginPattern", "donePattern"):
        if isinstance(entry.get(key), str):
            message = regex_error(entry[key])
            if message:
                rep.add(f"{base}.{key}", message, at_value=True)
    creds = entry.get("credentials")
    if isinstance(creds, dict):
        for name, ref in creds.items():
            if isinstance(ref, str):
                # never echo the value: it may be a real secret
                rep.add(f"{base}.credentials.{name}",
                        "never put a secret in a pool file: use {env: NAME}")
    env = entry.get("env")
    if isinstance(env, dict):
        for name in env:
            if _SECRET_NAME.search(str(name)):
                rep.add(f"{base}.env.{name}",
                        f"`{name}` looks like a secret: move it to `credentials` as {{env: NAME}}")


def check_pair(pattern: Any, pool: Any) -> list[Diagnostic]:
    """Steps of ``pattern`` that no agent of ``pool`` can run (missing capabilities, too few agents).

    Skipped entirely when the pool has a registry whose agents are not written in the pool file
    (e.g. ``env``, ``etcd``): they are only known at run time.
    """
    if any(not capabilities(r.type).in_pool_file for r in pool.registries):
        return []
    providers = [(a.definition.capabilities, 1) for a in pool.agents]
    providers += [(t.definition.capabilities, t.max_instances) for t in pool.templates]
    marks = getattr(pattern, "marks", None) or {}  # no copy: built (and large) only when an error needs it
    out: list[Diagnostic] = []

    def add(i: int, key: str, message: str) -> None:
        step = pattern.steps[i]
        if step.scope:  # a called pattern's step: at the outermost call's `uses`, naming the callee

            call = step.id.split("/", 1)[0]
            i, key = pattern.step_index[call], "uses"
            home = callee_of(pattern, step.scope[:-1])
            message = f"{message} (step `{step.id}` of {short(home.source)})"
        path = f"$.steps[{i}].{key}"
        line, col = mark_of(marks, path)
        out.append(Diagnostic(file=pattern.source, line=line, col=col, path=path, message=message))

    for i, step in enumerate(pattern.steps):
        if step.uses is not None:  # a call has no agents: its callee's steps do
            continue
        wanted = set(step.agents.capabilities)
        able = sum(n for caps, n in providers if wanted <= set(caps))
        where = f"pool `{pool.name}`"
        if not providers:
            add(i, "agents", f"{where} has no agents or templates to run step `{step.id}`")
        elif able == 0:
            offered = {c for caps, _ in providers for c in caps}
            missing = sorted(wanted - offered)
            if missing:
                listed = ", ".join(f"`{c}`" for c in missing)
                add(i, "agents.capabilities", f"no agent or template of {where} has {listed}")
            else:
                listed = ", ".join(f"`{c}`" for c in sorted(wanted))
                add(i, "agents.capabilities", f"no single agent or template of {where} has all of {listed}")
        elif able < step.agents.min:
            add(i, "agents.min", f"step `{step.id}` needs {step.agents.min} agents, {where} can provide {able}")
    return out
