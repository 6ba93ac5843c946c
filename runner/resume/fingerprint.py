"""A step's fingerprint: what its answer depends on, hashed (``--resume`` and ``cache: true``).

A succeeded step is reused only when its fingerprint is unchanged. It covers, in this order:

- the pattern file (its sha256; ``None`` for a pattern built in Python) and the step's own
  definition (every key under it, as loaded: a step composed from another file changes with it);
- the step's full id (``call/inner`` and ``inner`` are different steps);
- the run's inputs (all of them, as resolved);
- the step's agents as selected: id, name, type, capabilities, expertise and definition;
- the workspace base (steps with a ``workspace``: the commit its checkouts start from, the
  working state included; outside git, the files' names, sizes and times);
- each step it needs: that step's fingerprint, status and output (so everything downstream of a
  changed step changes too);
- the task as rendered for the first attempt of each item (``forEach``; a ``sequential`` step's
  first agent's), as sha256s.

``StepPrints`` computes the parts that are the same for every step once per run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

VERSION = "runner-step-fingerprint/1"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()


_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))


def _json(value: Any) -> str:
    return _ENCODER.encode(value)  # json.dumps with these arguments, without building an encoder per call


def file_sha(path: str | None) -> str | None:
    try:
        return hashlib.sha256(Path(path or "").read_bytes()).hexdigest() if path else None
    except OSError:
        return None  # a pattern not read from a file (built from Python)


def step_definition(step: Any) -> str:
    """The step as loaded, without where it sits in its file (moving it is not changing it):
    ``repr(dataclasses.replace(step, line=0))``, built without copying the step."""
    cls = type(step)
    names = _REPR_FIELDS.get(cls)
    if names is None:
        names = _REPR_FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.repr)
    parts = ("line=0" if n == "line" else f"{n}={getattr(step, n)!r}" for n in names)
    return f"{cls.__qualname__}({', '.join(parts)})"


_REPR_FIELDS: dict[type, tuple[str, ...]] = {}  # the fields a dataclass's repr shows, per class


def agent_part(info: Any) -> list[Any]:
    return [info.id, info.name, info.type, sorted(info.capabilities), dict(info.expertise), repr(info.definition)]


def tree_state(root: Path, exclude: Iterable[str] = ()) -> str:
    """Names, sizes and modification times of the files under ``root`` (a source outside git),
    without ``exclude`` (paths relative to ``root``: runner's own state directory)."""
    h = hashlib.sha256()
    skip = {os.path.normpath(os.path.join(root, e)) for e in exclude}
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if os.path.join(dirpath, d) not in skip)
        for name in sorted(files):
            p = os.path.join(dirpath, name)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            h.update(f"{os.path.relpath(p, root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "replace"))
    return h.hexdigest()


class StepPrints:
    """Fingerprints of one run's steps (the run-wide parts computed once)."""

    def __init__(self, pattern: Any, inputs: Mapping[str, Any]) -> None:
        self._head = _json([VERSION, file_sha(pattern.source), _json(dict(inputs))])
        self._agents: dict[int, tuple[Any, list[Any]]] = {}  # id(info) -> (info, its part): the same agents serve many steps

    def of(self, step: Any, agents: Iterable[Any], base: str | None,
           needs: Iterable[tuple[str, str | None, str, Any]], task_shas: Iterable[str]) -> str:
        """The fingerprint of ``step``: ``needs`` is (id, fingerprint, status, output) of each
        step it needs, ``task_shas`` the sha256 of each item's first task, in item order."""
        parts = [self._head, step.id, step_definition(step), [self._agent(a) for a in agents], base,
                 [[i, f, s, sha(_json(o))] for i, f, s, o in sorted(needs, key=lambda n: n[0])], list(task_shas)]
        return sha(_json(parts))

    def _agent(self, info: Any) -> list[Any]:
        known = self._agents.get(id(info))
        if known is None or known[0] is not info:
            known = self._agents[id(info)] = (info, agent_part(info))
        return known[1]


def workspace_base(step: Any, workspaces: Any, render: Callable[[str, str], str]) -> str | None:
    """The commit (or, outside git, the file listing) a step's checkouts start from; None without a workspace."""
    if step.workspace is None or workspaces is None:
        return None
    return source_state(workspaces.source(step, render))


def source_state(source: Any) -> str:
    """A workspace source's state: its base commit, or outside git its files' listing."""
    if getattr(source, "base", None):
        return str(source.base)
    return tree_state(Path(source.root), source.exclude)
