"""Which lane runs the tests: `make test` (and CI) runs every property test on its full count of
examples; `make test-fast` (``RUNNER_TEST_LANE=fast``) on a fifth of it, so the fast lane still
exercises every property, with fewer documents.

    from lanes import examples

    @settings(max_examples=examples(600))
"""

from __future__ import annotations

import os

FAST = os.environ.get("RUNNER_TEST_LANE") == "fast"
FAST_SHARE = 5  # the fast lane tries one example in this many
FAST_FLOOR = 20  # and never fewer than this: a property still meets a spread of inputs


def examples(full: int) -> int:
    """How many examples a property test tries in this lane (``full`` in `make test`)."""
    return max(min(full, FAST_FLOOR), full // FAST_SHARE) if FAST else full
