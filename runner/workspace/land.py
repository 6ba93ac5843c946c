"""Land a chosen change: as a patch file, as a branch of the source repository, or applied.

* ``patch``: the patch is written to a file.
* ``branch``: one commit of the change on a new branch of the source repository, made with a
  temporary index (``git apply --cached``) and ``commit-tree``: nothing is checked out and
  the user's working tree and index are not touched. Its parent is ``HEAD``; when the base
  was a snapshot of uncommitted work and the change does not apply to ``HEAD`` alone, the
  snapshot commit (whose parent is ``HEAD``) is the parent instead. An existing branch is
  never overwritten.
* ``apply``: ``git apply`` to the working tree, which applies every file or none. A dirty
  tree (anything differing from ``HEAD``, runner's state directory aside) is refused unless
  forced; a conflict is always refused, and so is a change of a submodule's commit (``git
  apply`` would leave its directory as it is: half applied).

Every patch is ``check``-ed first: nothing lands in ``.git``, outside the tree, or through a
symlink.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from runner.errors import WorkspaceError
from runner.workspace.capture import Change
from runner.workspace.git import attempt, git, text
from runner.workspace.patch import check
from runner.workspace.snapshot import Source, is_dirty

LAND_MODES = ("patch", "branch", "apply")
_APPLY = ["apply", "--binary", "--whitespace=nowarn"]


def land_patch(change: Change, dest: Path) -> dict[str, Any]:
    check(list(change.files), Path(tempfile.gettempdir()) / "runner-no-such-dir")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(change.patch)
    except OSError as exc:
        raise WorkspaceError(f"cannot write the patch to {dest}: {exc.strerror or exc}") from exc
    return {"mode": "patch", "path": str(dest)}


def land_branch(source: Source, change: Change, branch: str, message: str) -> dict[str, Any]:
    if not source.is_git:
        raise WorkspaceError(f"land: branch needs a git repository; {source.root} is not one")
    assert source.base is not None
    check(list(change.files), source.root)
    if text(["check-ref-format", "--branch", branch], source.root, check=False) != branch:
        raise WorkspaceError(f"land: `{branch}` is not a valid branch name")
    if text(["rev-parse", "-q", "--verify", f"refs/heads/{branch}"], source.root, check=False):
        raise WorkspaceError(f"land: branch `{branch}` already exists in {source.root}; not overwritten")
    parents = [p for p in dict.fromkeys([source.head, source.base]) if p]
    last = ""
    for parent in parents:
        with tempfile.TemporaryDirectory(prefix="runner-land-") as tmp:
            env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
            git(["read-tree", parent], source.root, env=env)
            if not change.empty:
                ok, last = attempt([*_APPLY, "--cached", "-"], source.root, env=env, input=change.patch)
                if not ok:
                    continue
            tree = text(["write-tree"], source.root, env=env)
        commit = git(["commit-tree", tree, "-p", parent], source.root, input=message.encode() + b"\n").decode().strip()
        git(["update-ref", f"refs/heads/{branch}", commit, "0" * 40], source.root)
        return {"mode": "branch", "branch": branch, "commit": commit, "parent": parent,
                "onSnapshot": parent != source.head}
    raise WorkspaceError(f"land: the change does not apply to {source.root}: {last}")


def land_apply(source: Source, change: Change, force: bool) -> dict[str, Any]:
    root = source.root
    check(list(change.files), root)
    if source.is_git and not force and is_dirty(root, source.exclude):
        raise WorkspaceError(f"land: apply refused: {root} has uncommitted changes (commit or stash them, "
                             "or run with --force)")
    if change.empty:
        return {"mode": "apply", "path": str(root), "files": 0}
    subs = [f.path for f in change.files if f.submodule]
    if subs:  # `git apply` leaves a submodule's directory as it is: the change would land half
        raise WorkspaceError(f"land: apply refused, the change adds, moves or removes the submodule "
                             f"`{subs[0]}`, which `git apply` does not do in a working tree (land it as a branch)")
    ok, problem = attempt([*_APPLY, "--check", "-"], root, input=change.patch)
    if not ok:
        raise WorkspaceError(f"land: apply refused, the change conflicts with {root}: {problem}")
    git([*_APPLY, "-"], root, input=change.patch)
    return {"mode": "apply", "path": str(root), "files": len(change.files)}
