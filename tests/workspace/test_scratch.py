"""The agent server's task directories: labelled while in use, swept only when their owner is gone
(the real SIGKILL case is tests/protocol/test_workspace_kill9.py)."""

from __future__ import annotations

import fcntl
import os
import tempfile

from runner.workspace.scratch import LOCK, scratch, sweep


def test_a_live_directory_an_unlabelled_one_and_a_symlink_are_left_alone(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / "runner-workspace-old").mkdir()  # an older runner's: its owner cannot be told
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / LOCK).write_text("pid 1 started 0\n")
    (tmp_path / "runner-workspace-link").symlink_to(tmp_path / "elsewhere")
    with scratch() as work:
        assert work.name == "work" and work.is_dir() and list(work.iterdir()) == []
        assert f"pid {os.getpid()} started " in (work.parent / LOCK).read_text()
        assert sweep() == [] and work.is_dir()
    assert not work.parent.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere", "runner-workspace-link", "runner-workspace-old"]


def test_a_directory_whose_lock_nobody_holds_is_swept(tmp_path) -> None:
    dead = tmp_path / "runner-workspace-dead"
    (dead / "work" / "ro").mkdir(parents=True)
    (dead / LOCK).write_text("pid 4242 started 1.00\n")
    (dead / "work" / "ro").chmod(0o500)  # an agent left it unwritable
    held = tmp_path / "runner-workspace-held"
    held.mkdir()
    (held / LOCK).write_text("pid 1 started 1.00\n")
    fd = os.open(held / LOCK, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a live server holds it (another open file description)
    try:
        assert [left.line() for left in sweep(tmp_path, dry_run=True)] == [
            f"server workspace\t{dead} (agent server pid 4242, gone)\trun ?\twould remove"]
        assert dead.is_dir()
        assert [left.status for left in sweep(tmp_path)] == ["removed"]
        assert not dead.exists() and held.is_dir()
    finally:
        os.close(fd)
