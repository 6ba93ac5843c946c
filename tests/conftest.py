"""Settings for the whole suite.

Hypothesis: no per-example deadline (a loaded 2-core machine makes a 200 ms deadline a coin
toss, and a slow example is not a wrong one); in CI (``CI`` set) the examples are derived from
each test's name, so a red CI is reproducible and a green one is not luck. The fast lane
(`make test-fast`) tries fewer examples per property (``lanes.examples``); `make test` all of them.

Bytecode: pytest keeps each test module with its asserts rewritten in ``tests/**/__pycache__``
(git-ignored) even where ``PYTHONDONTWRITEBYTECODE`` is set; otherwise every xdist worker rewrote
every test module again at each run (about 5 of its 9 CPU-s of collection). The programs the tests
start inherit the variable and still write nothing.

PATH: the venv's bin first, as an activated venv has it. The examples' agents start `python3`,
which on a machine with pyenv is otherwise a shim of about 15 bash processes (~70 ms CPU) each time.
"""

import os
import sys

from hypothesis import settings
from lanes import examples

settings.register_profile("runner", max_examples=examples(settings.default.max_examples), deadline=None,
                          derandomize=bool(os.environ.get("CI")), database=None)
settings.load_profile("runner")
sys.dont_write_bytecode = False
os.environ["PATH"] = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
