"""One program in a real pseudo-terminal, drained continuously by a background thread: the
one PTY driver (the local runtime's agents, ``runner agents doctor``, the screen recordings).

``session`` (``PtySession``), ``output`` (reading and matching what it printed), ``proc``
(environment, errors, the spawn), ``transcript`` (the bounded text) and ``sweep`` (processes
that left their group). ``proc.spawn_in_pty`` starts the program with ``posix_spawn`` as a
session leader with the PTY as its controlling terminal (so its process group is its own
and can be killed as a whole); everything after that is plain fds:

* one *reader* thread per session drains the PTY as fast as it fills (some CLIs print
  megabytes) into a bounded ``Transcript`` of ANSI-stripped text, handing each raw chunk to
  ``on_output``. It also watches a pidfd of the program and reaps it the moment it exits (no
  zombie), so a grandchild keeping the PTY open cannot hide the exit (without pidfds a second
  thread blocks in ``wait4``; the program's resource usage is kept as ``rusage``);
* ``wait_for`` sleeps on a condition the reader notifies: no polling, no fixed sleeps.
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
    find_program,
)
from runner.agents.pty.session import PtySession

__all__ = [
    "BASE_ENV_KEYS", "Hit", "PtyCancelled", "PtyEOF", "PtyError", "PtyInactive", "PtySession",
    "PtySpawnError", "PtyTimeout", "build_env", "find_program", "strip_ansi",
]
