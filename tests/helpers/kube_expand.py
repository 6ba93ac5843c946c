"""Kubernetes' expansion of ``$(VAR)`` in a container's env values, command and args (what a
kubelet does before it starts the container), for the test kubelet and the pod-args tests."""

from __future__ import annotations

import re

_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def expand(text: str, env: dict[str, str]) -> str:
    """A defined ``$(VAR)`` is replaced, an undefined one left as written, and ``$$`` is one ``$``
    (how ``$(`` is escaped)."""
    return _REFERENCE.sub(lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)
