from __future__ import annotations

import fcntl
import os
import subprocess
import sys

from runner.flocks import take_if_free

# runner/flocks.py: the journal (liveness) is its first user, so its test sits here

HOLD = "import fcntl, sys; f = open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_SH); print('held', flush=True); sys.stdin.read()"


def test_a_lock_its_owner_holds_is_not_taken_and_is_taken_once_the_owner_is_killed(tmp_path) -> None:
    lock = tmp_path / "owner.lock"
    lock.write_text("pid 1\n")
    with subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE) as owner:
        try:
            assert owner.stdout is not None and owner.stdout.readline() == b"held\n"
            assert take_if_free(lock) is None
        finally:
            owner.kill()  # SIGKILL: the kernel drops its lock
            owner.wait()
    fd = take_if_free(lock)
    assert fd is not None
    try:  # held exclusively by us now: nobody else can take it
        probe = os.open(lock, os.O_RDONLY)
        try:
            try:
                fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)
                taken = True
            except BlockingIOError:
                taken = False
            assert not taken
        finally:
            os.close(probe)
    finally:
        os.close(fd)


def test_no_lock_file_and_a_symlink_not_followed_give_none(tmp_path) -> None:
    assert take_if_free(tmp_path / "missing.lock") is None
    target = tmp_path / "real.lock"
    target.write_text("")
    link = tmp_path / "link.lock"
    link.symlink_to(target)
    assert take_if_free(link, follow_links=False) is None
    fd = take_if_free(link)
    assert fd is not None
    os.close(fd)
