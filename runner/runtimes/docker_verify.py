"""A docker agent's ``verify``: run in a container of the agent's own image, not on the host.

The attempt's checkout is bind-mounted read-write at the *same path* as on the host and the
command runs there (``/bin/sh -c``, in the subdirectory of ``from``), so ``RUNNER_WORKSPACE``,
the paths in the result and the feedback are the host's. The container runs as the invoking
user's uid:gid (``HOME=/tmp``): whatever the verify writes (caches, build output) belongs to the
invoking user afterwards, with no ``chown``. It gets the agent's network, cpu and memory limits,
``verify.env``, ``RUNNER_WORKSPACE`` and the run's labels (by name: values never reach a
command line), and is labelled like the agent's container (``runner.run-id``, the owner labels
``runner gc`` reads) plus ``runner.role=verify``. It is started with ``--rm`` and removed
(``docker rm -f``) after the verify whatever happened (timeout, a stopping run); a run killed
with ``kill -9`` leaves it to ``runner gc``.

git does not work in the container (the worktree's repository is not mounted).
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from runner.agents.model import AgentInfo

if TYPE_CHECKING:
    from runner.runtimes.docker import DockerRuntime

_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]+")
ROLE_LABEL = "runner.role"


class ContainerVerify:
    """One verify in one container (``runner.workspace.verify.Sandbox``)."""

    def __init__(self, runtime: DockerRuntime, info: AgentInfo, root: Path) -> None:
        self.client = runtime.client
        self.image = runtime.image_for(info)
        self.root = Path(root).resolve()
        self.labels = {**runtime.labels(info), ROLE_LABEL: "verify"}
        self.name = _UNSAFE.sub("-", f"runner-{runtime.ctx.run_id}-{info.id}")[:180] + f"-verify-{secrets.token_hex(4)}"
        d = info.definition
        self.limits: list[str] = []
        if d is not None and d.resources.cpu:
            self.limits += ["--cpus", str(float(d.resources.cpu))]
        if d is not None and d.resources.memory:
            self.limits += ["--memory", str(int(d.resources.memory))]
        if runtime.options.get("network"):
            self.limits += ["--network", str(runtime.options["network"])]

    def argv(self, command: str, cwd: Path, names: Sequence[str]) -> list[str]:
        args = [self.client, "run", "--rm", "--init", "--pull", "never", "--name", self.name,
                "--user", f"{os.getuid()}:{os.getgid()}", "--entrypoint", "/bin/sh",
                "-v", f"{self.root}:{self.root}:rw", "-w", str(cwd), "-e", "HOME=/tmp", *self.limits]
        for key, value in self.labels.items():
            args += ["--label", f"{key}={value}"]
        for name in names:
            args += ["-e", name]  # the value comes from the client's environment
        return [*args, self.image, "-c", command]

    def discard(self) -> None:
        try:
            subprocess.run([self.client, "rm", "-f", "-v", self.name], capture_output=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired):
            pass  # `runner gc` removes it (it carries the run's and owner's labels)
