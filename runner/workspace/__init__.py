"""Workspaces: each coding agent works in a checkout of its own; its change is captured as a
binary git patch, verified, chosen and landed (docs/workspaces.md).

One module per concern: ``git`` (running git with pinned settings), ``snapshot`` (the base,
uncommitted work included, without touching the user's tree), ``worktree`` (make and remove
one attempt's checkout), ``capture`` (the change as a patch), ``patch`` (reading and checking
patches), ``verify`` (the verify command), ``land`` (patch / branch / apply), ``gc`` (what
dead runs left), ``manager`` (the executor's one seam).
"""

WORKSPACES_DIR = "workspaces"  # under the run's directory: every attempt's checkout (the docker runtime mounts it)
