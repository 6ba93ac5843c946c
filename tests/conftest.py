"""Settings for the whole suite.

Hypothesis: no per-example deadline (a loaded 2-core machine makes a 200 ms deadline a coin
toss, and a slow example is not a wrong one); in CI (``CI`` set) the examples are derived from
each test's name, so a red CI is reproducible and a green one is not luck. The fast lane
(`make test-fast`) tries fewer examples per property (``lanes.examples``); `make test` all of them.
"""

import os

from hypothesis import settings
from lanes import examples

settings.register_profile("runner", max_examples=examples(settings.default.max_examples), deadline=None,
                          derandomize=bool(os.environ.get("CI")), database=None)
settings.load_profile("runner")
