"""One program in a real pseudo-terminal, drained continuously by a background thread: the
one PTY driver (the local runtime's agents, ``runner agents doctor``, the screen recordings).

``session`` (``PtySession``), ``output`` (reading and matching what it printed), ``proc``
(environment, errors, the fork), ``transcript`` (the bounded text) and ``sweep`` (processes
that left their group) are the only place runner touches pexpect/ptyprocess. pexpect forks
the program into a PTY as a session leader (so its process group is its own and can be
killed as a whole); everything after the fork is plain fds:

* one *reader* thread per session drains the PTY as fast as it fills (some CLIs print
  megabytes) into a bounded ``Transcript`` of ANSI-stripped text, handing each raw chunk to
  ``on_output``. It also watches a pidfd of the program and reaps it the moment it exits (no
  zombie), so a grandchild keeping the PTY open cannot hide the exit (without pidfds a second
  thread blocks in ``wait4``; the program's resource usage is kept as ``rusage``);
* ``wait_for`` sleeps on a condition the reader notifies: no polling, no fixed sleeps.

pexpect's built-in delays (``delaybeforesend`` 50 ms, ``delayafterclose`` /
``delayafterterminate`` 100 ms) are turned off: they cost ~150 ms per agent.
"""

from runner.agents.ansi import strip_ansi
from runner.agents.pty.proc import (
    BASE_ENV_KEYS,
    Hit,
    PtyCancelled,
    PtyEOF,
    PtyError,
    PtyInactive,
    PtySpawnError,
    PtyTimeout,
    build_env,
)
from runner.agents.pty.session import PtySession

__all__ = [
    "BASE_ENV_KEYS", "Hit", "PtyCancelled", "PtyEOF", "PtyError", "PtyInactive", "PtySession",
    "PtySpawnError", "PtyTimeout", "build_env", "strip_ansi",
]
