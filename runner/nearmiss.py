"""The "did you mean" of every error about an unknown name (a key, a plug-in, an input, a
built-in pattern): one wording everywhere. A leaf module: anything may import it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def suggest(name: str, known: list[str] | Mapping[str, Any]) -> str:
    """`` (did you mean `x`?)`` for a near miss, else the list of known names."""
    names = sorted(known)
    if not names:
        return "none expected here"
    import difflib  # lazy: cold start (only a file with a mistake asks)

    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    return "expected one of: " + ", ".join(f"`{n}`" for n in names)
