"""The ``docker`` runtime: each spawned agent runs ``runner agent serve`` in its own container.

Options (pool ``runtimes[].options``): ``client`` docker binary (else ``$RUNNER_DOCKER_CLIENT``,
``/usr/bin/docker``, PATH); ``image`` one image for every agent, or ``images`` ``{type: image}``
(default ``<prefix>agent-<type>:<tag>`` for claude/codex/gemini/aider, ``<prefix>agent-base:<tag>``
for the rest; ``prefix`` ``runner/``, ``tag`` ``latest``; build them with ``runner images build``);
``start_timeout`` seconds to ready (60; an agent's ``options.start_timeout`` wins);
``stop_timeout`` seconds of ``docker stop`` grace (10); ``user`` (``agent``, the image's
non-root user); ``network`` (default bridge).

Per agent: ``resources.cpu``/``memory`` → ``--cpus``/``--memory``; ``resources.timeout`` →
maximum lifetime (enforced in the container and by the handle); the workdir (the agent's
``workdir``, else the run's) is bind-mounted at ``/work`` read-only unless the agent's
``options.writable`` is true; the run's workspaces (``<run dir>/workspaces``) are bind-mounted
read-write at ``/workspace`` and a task in a workspace works in its attempt's checkout there
(``runner.runtimes.docker_workspace``), and a step's ``verify`` runs in a container of the agent's
image (``runner.runtimes.docker_verify``); credentials → env through a 0600 env-file. Containers are named
``runner-<run>-<agent>`` and labelled (``runner.managed``, ``runner.run-id``, ``runner.agent-id``,
``runner.agent-type`` and the owner labels of ``runner.docker.owner`` that ``runner gc`` reads).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner.agents.handle import AgentHandle
from runner.agents.model import AgentInfo
from runner.context import RunContext
from runner.docker.client import client_path, engine_problem, one_line, whales
from runner.docker.entry import CONTAINER_GRPC_PORT, CONTAINER_PORT, CONTAINER_WORKSPACES
from runner.docker.owner import owner_labels
from runner.errors import AgentFailure, ConfigurationError, FailureKind
from runner.images.recipes import IMAGE_FOR_TYPE
from runner.plugins import closed, described
from runner.runtimes.base import GcRequest, GcResult, Leftover, Runtime
from runner.runtimes.docker_gc import collect
from runner.runtimes.docker_handle import DockerHandle
from runner.runtimes.docker_verify import ContainerVerify
from runner.workspace import WORKSPACES_DIR

# The server's cwd: its state (``.runner/``: seeded CLI homes) must be writable even when the
# mounted workdir (``/work``, the agent's workdir) is read-only.
HOME = "/home/agent"
_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]+")
_TEXT = {"type": "string", "minLength": 1}
_SECONDS = {"type": "number", "minimum": 0}
_IMAGES = {"type": "object", "additionalProperties": _TEXT}  # agent type -> image


class DockerRuntime(Runtime):
    """Starts agents in containers of the local Docker engine (see the module docstring)."""

    name = "docker"
    options_schema = closed({
        "client": described(_TEXT, "the docker client binary (else $RUNNER_DOCKER_CLIENT, /usr/bin/docker, PATH)"),
        "image": described(_TEXT, "one image for every agent"),
        "images": described(_IMAGES, "an image per agent type"),
        "prefix": described({"type": "string"}, "images are <prefix>agent-<type>:<tag> (runner/)"),
        "tag": described(_TEXT, "the images' tag (latest)"),
        "start_timeout": described(_SECONDS, "seconds to ready (60)"),
        "stop_timeout": described({"type": "integer", "minimum": 0}, "seconds of `docker stop` grace (10)"),
        "user": described({"type": ["string", "integer"], "minLength": 1}, "the container's user (agent)"),
        "network": described(_TEXT, "a docker network (default: the bridge)"),
        "protocol": described({"enum": ["http", "grpc"]}, "how the executor talks to a container (http)"),
    })
    agent_options_schema = closed({
        "image": described(_TEXT, "this agent's image (wins over the runtime's)"),
        "writable": described({"type": "boolean"}, "mount the workdir read-write (false: read-only)"),
        "start_timeout": described(_SECONDS, "seconds to ready (wins over the runtime's)"),
    })
    extras = {"docker": "python_on_whales"}

    def __init__(self, ctx: RunContext, options: Mapping[str, Any]) -> None:
        super().__init__(ctx, options)
        self.client = client_path(self.options, ctx.environ)
        self.protocol = str(self.options.get("protocol", "http"))  # how the executor talks to a container
        self._docker: Any = None
        self._handles: list[DockerHandle] = []
        self._owner = owner_labels()
        self._engine_ok = -100.0

    @property
    def docker(self) -> Any:
        if self._docker is None:
            self._docker = whales(self.client)
        return self._docker

    @classmethod
    def needs(cls, options: Mapping[str, Any]) -> dict[str, str]:
        grpc = {"grpc": "grpc"} if options.get("protocol") == "grpc" else {}
        return {**cls.extras, **grpc}

    # ------------------------------------------------------------- contract

    def available(self) -> str | None:
        # Asked before every spawn: a good answer is kept for a few seconds (`docker version` ~50 ms).
        if time.monotonic() - self._engine_ok < 10:
            return None
        problem = engine_problem(self.client)
        if problem is None:
            self._engine_ok = time.monotonic()
        return problem

    def can_run(self, info: AgentInfo) -> bool:
        d = info.definition
        return d is not None and info.endpoint is None and d.runtime in (None, self.name) and self.type_runs(d)

    def spawn(self, info: AgentInfo) -> AgentHandle:
        if info.definition is None:
            raise ConfigurationError(f"agent {info.id} has no definition to start it from")
        if not self.can_run(info):
            raise ConfigurationError(f"the docker runtime cannot run agent {info.id} (type `{info.definition.type}`)")
        handle = DockerHandle(info, self)
        self._handles.append(handle)
        return handle

    def cleanup(self) -> list[str]:
        """Stop every handle at once, then remove every container labelled with this run."""
        for handle in list(self._handles):
            handle.stop(force=True)
        left = []
        for cid in self.run_containers():
            try:
                self.docker.container.remove(cid, force=True, volumes=True)
            except Exception as exc:  # noqa: BLE001 - reported, not raised
                left.append(f"container {cid[:12]}: {one_line(exc)}")
        return left

    @classmethod
    def gc(cls, options: Mapping[str, Any] | None, request: GcRequest) -> GcResult:
        """Containers, volumes and networks of dead runs (``runner.runtimes.docker_gc``); skipped when no
        engine answers."""
        path = client_path(options, request.environ)
        problem = engine_problem(path, timeout=5.0)
        if problem is not None:
            return GcResult(skipped=problem)
        found = collect(path, dry_run=request.dry_run, all_hosts=request.all_hosts, run_id=request.run_id)
        return GcResult(leftovers=tuple(
            Leftover(kind=c.kind, name=c.name, run_id=c.run_id,
                     status="would remove" if request.dry_run else ("removed" if c.removed else f"FAILED: {c.error}"))
            for c in found))

    # ------------------------------------------------------------- helpers for handles

    def container_name(self, info: AgentInfo) -> str:
        return _UNSAFE.sub("-", f"runner-{self.ctx.run_id}-{info.id}")[:200]

    def image_for(self, info: AgentInfo) -> str:
        d = info.definition
        per_agent = d.options.get("image") if d is not None else None
        images = self.options.get("images") or {}
        if per_agent or self.options.get("image") or info.type in images:
            return str(per_agent or images.get(info.type) or self.options["image"])
        name = IMAGE_FOR_TYPE.get(info.type, "agent-base")
        return f"{self.options.get('prefix', 'runner/')}{name}:{self.options.get('tag', 'latest')}"

    def start_timeout(self, definition: Any) -> float:
        return float(definition.options.get("start_timeout") or self.options.get("start_timeout") or 60)

    def labels(self, info: AgentInfo) -> dict[str, str]:
        return {**self.ctx.labels, "runner.agent-id": info.id, "runner.agent-type": info.type, **self._owner}

    def run_container(self, handle: DockerHandle, env: dict[str, str], env_file: str) -> str:
        """``docker run -d`` of one agent; returns the container id."""
        info, d = handle.info, handle.definition
        workdir = Path(d.workdir or self.ctx.workdir).resolve()
        writable = bool(d.options.get("writable"))
        kwargs: dict[str, Any] = {}
        if d.resources.cpu:
            kwargs["cpus"] = float(d.resources.cpu)
        if d.resources.memory:
            kwargs["memory"] = int(d.resources.memory)
        if self.options.get("network"):
            kwargs["networks"] = [self.options["network"]]
        workspaces = self.workspaces_root()
        workspaces.mkdir(parents=True, exist_ok=True)
        try:
            container = self.docker.container.run(
                self.image_for(info), ["-m", "runner.docker.entry"], entrypoint="/opt/runner/bin/python",
                name=handle.container_name, detach=True, init=True, pull="never",
                labels=self.labels(info), envs=env, env_files=[env_file],
                user=self.container_user(), workdir=HOME,
                volumes=[(str(workdir), "/work", "rw" if writable else "ro"),
                         (str(workspaces), CONTAINER_WORKSPACES, "rw")],
                publish=[("127.0.0.1:", port) for port in self.container_ports()],
                stop_timeout=int(self.options.get("stop_timeout", 10)), **kwargs)
        except Exception as exc:  # noqa: BLE001 - translated at the adapter edge
            message = one_line(exc)
            if "no such image" in message.lower() or "unable to find image" in message.lower():
                raise AgentFailure(FailureKind.CONFIG, f"image {self.image_for(info)} not found: build it with "
                                   f"`runner images build` (or set the runtime's `image`)",
                                   agent_id=info.id) from exc
            raise AgentFailure(FailureKind.INFRASTRUCTURE, f"docker run of {handle.container_name} failed: "
                               f"{message}", agent_id=info.id) from exc
        return str(container.id)

    def verify_sandbox(self, info: AgentInfo) -> Any:
        """A verify runs in a container of the agent's image (``runner.runtimes.docker_verify``)."""
        return lambda root: ContainerVerify(self, info, root)

    def workspaces_root(self) -> Path:
        """The run's workspaces on the host: mounted at ``/workspace`` in every container."""
        return (Path(self.ctx.run_dir) / WORKSPACES_DIR).resolve()

    def container_user(self) -> str:
        return str(self.options.get("user", "agent"))

    def chown(self, cid: str, owner: str, path: str) -> None:
        """``chown -R -h OWNER PATH`` in the container as root (symbolic links are not followed)."""
        self.docker.container.execute(cid, ["chown", "-R", "-h", owner, path], user="root")

    def container_ports(self) -> list[int]:
        """The server's ports inside: HTTP (health, also with gRPC), and gRPC when asked for."""
        return [CONTAINER_PORT, CONTAINER_GRPC_PORT] if self.protocol == "grpc" else [CONTAINER_PORT]

    def published_port(self, cid: str, port: int = CONTAINER_PORT) -> int:
        ports = self.docker.container.inspect(cid).network_settings.ports or {}
        bound = ports.get(f"{port}/tcp") or []
        if not bound:
            raise AgentFailure(FailureKind.INFRASTRUCTURE, f"container {cid[:12]} has no published port")
        return int(bound[0]["HostPort"] if isinstance(bound[0], dict) else bound[0].host_port)

    def container_status(self, cid: str) -> str:
        """``running``, ``exited (137)``, ``gone``..."""
        try:
            state = self.docker.container.inspect(cid).state
        except Exception:  # noqa: BLE001 - no such container
            return "gone"
        if state.status == "exited":
            return f"exited ({state.exit_code}{', OOM-killed' if state.oom_killed else ''})"
        return str(state.status)

    def logs_tail(self, cid: str, lines: int = 20) -> str:
        try:
            return str(self.docker.container.logs(cid, tail=lines)).rstrip()
        except Exception as exc:  # noqa: BLE001
            return f"(no logs: {one_line(exc)})"

    def remove_container(self, cid: str, force: bool = False) -> None:
        """Graceful ``stop -t N`` (or ``kill``), then ``rm``; errors are swallowed (stop never raises)."""
        try:
            if force:
                self.docker.container.kill(cid)
            else:
                self.docker.container.stop(cid, time=int(self.options.get("stop_timeout", 10)))
        except Exception:  # noqa: BLE001 - already stopped or gone
            pass
        try:
            self.docker.container.remove(cid, force=True, volumes=True)
        except Exception:  # noqa: BLE001 - gone already; cleanup() reports what is left
            pass

    def run_containers(self) -> list[str]:
        found = self.docker.container.list(all=True, filters=[("label", f"runner.run-id={self.ctx.run_id}")])
        return [str(c.id) for c in found]
