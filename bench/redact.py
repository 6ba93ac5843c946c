"""Micro-benchmark: the cost of ``Redactor.redact`` on a typical log text (not a test).

    python bench/redact.py [N]

A 2 kB log line that holds no secret, through the redactor of a run with three secrets (one
multi-line, one full of characters that JSON and URLs escape), next to one scan of the same text
by the plain alternation of the key shapes (``"|".join(KEY_PATTERNS)``: what a redactor written
the obvious way would run, before any secret). Every line runner writes goes through ``redact``:
its cost is one scan of the grouped key shapes plus a substring test per secret
(tests/observe/test_redact.py counts them), so it should stay below that one plain scan. Then
the same with a secret in the text (its own regex runs too).
"""

from __future__ import annotations

import json
import re
import sys
import time

from runner.observe.redact import KEY_PATTERNS, from_environment

PLAIN = "s3cr3t-Value-0123456789"
MULTI = "-----BEGIN KEY-----\nMIIEpAIBAAKCAQEA1b2c3d4e5f6\nZm9vYmFyYmF6cXV4cXV1eA==\n-----END KEY-----"
WEIRD = 'p@ss "quoted" \\back/slash & more'
TEXT = ("step lint: agent a1 answered {'result': 'pass', 'confidence': 0.9} after 1.2 s; " * 25)[:2000]
FLAT = re.compile("|".join(KEY_PATTERNS))


def per_call(fns, n: int, rounds: int = 9) -> list[float]:  # type: ignore[no-untyped-def]
    """Seconds per call of each ``fn`` (no argument), the fastest of ``rounds`` rounds of ``n`` calls;
    the functions take turns in every round, so a busy machine slows them alike (noise only adds)."""
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            best[i] = min(best[i], (time.perf_counter() - t0) / n)
    return best


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 300
    redactor = from_environment({"K": "A", "P": "B", "W": "C"}, {"A": PLAIN, "B": MULTI, "C": WEIRD}, by_name=False)
    assert redactor.redact(TEXT) == TEXT
    dirty_text = TEXT[:1000] + json.dumps(PLAIN) + TEXT[1000:]
    baseline, clean, dirty = per_call([lambda: list(FLAT.finditer(TEXT)), lambda: redactor.redact(TEXT),
                                       lambda: redactor.redact(dirty_text)], n)
    print(f"plain key-shape scan of a 2 kB text  {baseline * 1e6:8.1f} µs")
    print(f"redact, no secret in it              {clean * 1e6:8.1f} µs  = {clean / baseline:.2f} × the plain scan "
          "(target ≤ 1 ×)")
    print(f"redact, one secret in it             {dirty * 1e6:8.1f} µs  = {dirty / baseline:.2f} × the plain scan")


if __name__ == "__main__":
    main()
