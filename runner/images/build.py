"""Build runner's images, each only when its recipe hash has no image yet.

Order: the root image (a locally made Debian rootfs when ``mmdebstrap`` is present, else
``python:3.11-slim`` from a registry) → ``agent-base`` → the CLI images FROM it. Each image is
tagged ``<prefix><name>:<hash12>`` and ``<prefix><name>:latest`` and labelled
``runner.recipe=<hash>``. Builds use the classic builder (``DOCKER_BUILDKIT=0``): no buildx
exists here, and python-on-whales' ``build()`` needs it. A file lock serialises concurrent
builds (tests of several worktrees may build at once).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from runner.docker.client import client_path, require_engine
from runner.errors import InfrastructureError, UsageError
from runner.images.recipes import ALL_IMAGES, RECIPE_LABEL, Recipe, recipe, rootfs_hash, source_root

REGISTRY_ROOT = "python:3.11-slim"
DEFAULT_PREFIX = "runner/"
LOCK_PATH = Path(tempfile.gettempdir()) / "runner-image-build.lock"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

Log = Callable[[str], None]


@dataclass(frozen=True, kw_only=True)
class Built:
    """One image after ``build_images``: its tag, recipe hash, and whether the cache had it."""

    name: str
    tag: str
    hash: str
    cached: bool
    seconds: float


def _run(argv: list[str], log: Log, what: str, verbose: bool) -> None:
    env = dict(os.environ, DOCKER_BUILDKIT="0")
    tail: list[str] = []
    with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            tail = (tail + [line.rstrip()])[-25:]
            if verbose:
                log(line.rstrip())
    if proc.returncode != 0:
        raise InfrastructureError(f"{what} failed (exit {proc.returncode}):\n" + "\n".join(tail))


def image_recipe(client: str, ref: str) -> str | None:
    """The ``runner.recipe`` label of a local image, '' when unlabelled, None when absent."""
    proc = subprocess.run([client, "image", "inspect", "--format",
                           "{{index .Config.Labels \"" + RECIPE_LABEL + "\"}}", ref],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    return proc.stdout.strip().replace("<no value>", "")


def _tag_latest(client: str, tag: str) -> None:
    subprocess.run([client, "tag", tag, tag.rsplit(":", 1)[0] + ":latest"], check=True, capture_output=True)


def ensure_rootfs(client: str, prefix: str, source: Path, log: Log, verbose: bool) -> Built:
    """The Debian root image made by ``images/rootfs/build.sh`` (mmdebstrap) + ``docker import``."""
    h = rootfs_hash(source)
    tag = f"{prefix}rootfs-bookworm:{h[:12]}"
    t0 = time.monotonic()
    if image_recipe(client, tag) == h:
        return Built(name="rootfs-bookworm", tag=tag, hash=h, cached=True, seconds=time.monotonic() - t0)
    log(f"building {tag} (mmdebstrap + docker import)")
    with tempfile.TemporaryDirectory(prefix="runner-rootfs-") as tmp:
        tar = Path(tmp) / "rootfs.tar"
        _run(["bash", str(source / "images" / "rootfs" / "build.sh"), str(tar)], log, "mmdebstrap", verbose)
        _run([client, "import", "--change", f"ENV {PATH_ENV}", "--change", f"LABEL {RECIPE_LABEL}={h}",
              "--change", 'CMD ["/bin/bash"]', str(tar), tag], log, "docker import", verbose)
    return Built(name="rootfs-bookworm", tag=tag, hash=h, cached=False, seconds=time.monotonic() - t0)


def _make_context(r: Recipe, dest: Path) -> None:
    for rel, src in r.files:
        target = dest / rel
        if src is None:
            if "." in Path(rel).name:  # a named file that does not exist: make it empty
                target.parent.mkdir(parents=True, exist_ok=True)
                target.touch()
            else:
                target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)


def ensure_image(client: str, r: Recipe, prefix: str, log: Log, verbose: bool) -> Built:
    """Build ``r`` unless an image with its hash exists; either way ``:latest`` points to it."""
    tag = r.tag(prefix)
    t0 = time.monotonic()
    if image_recipe(client, tag) != r.hash:
        log(f"building {tag}")
        with tempfile.TemporaryDirectory(prefix=f"runner-{r.name}-") as ctx:
            _make_context(r, Path(ctx))
            argv = [client, "build", "--label", f"{RECIPE_LABEL}={r.hash}", "-t", tag]
            for key, value in sorted(r.build_args.items()):
                argv += ["--build-arg", f"{key}={value}"]
            _run(argv + [ctx], log, f"docker build of {r.name}", verbose)
        cached = False
    else:
        cached = True
    _tag_latest(client, tag)
    return Built(name=r.name, tag=tag, hash=r.hash, cached=cached, seconds=time.monotonic() - t0)


def build_images(only: Iterable[str] = (), *, prefix: str = DEFAULT_PREFIX, root: str | None = None,
                 client: str | None = None, source: Path | None = None,
                 log: Log = lambda _m: None, verbose: bool = False) -> list[Built]:
    """Build ``only`` (default: all five images) and what they need; returns every image touched.

    ``root``: the image agent-base starts FROM; default ``$RUNNER_IMAGE_ROOT``, else a local
    rootfs when mmdebstrap is installed, else ``python:3.11-slim``.
    """
    wanted = list(only) or list(ALL_IMAGES)
    for name in wanted:
        if name not in ALL_IMAGES:
            raise UsageError(f"unknown image `{name}`; expected one of: {', '.join(ALL_IMAGES)}")
    client = client or client_path()
    source = source or source_root()
    if not (source / "images" / "agent-base" / "Dockerfile").is_file():
        raise UsageError(f"no images/ in {source}: `runner images build` needs runner's source tree")
    require_engine(client)
    root = root or os.environ.get("RUNNER_IMAGE_ROOT") or ("" if shutil.which("mmdebstrap") else REGISTRY_ROOT)
    LOCK_PATH.touch(exist_ok=True)
    with open(LOCK_PATH) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done: list[Built] = []
        if root:
            root_hash = f"external:{root}"
        else:
            rootfs = ensure_rootfs(client, prefix, source, log, verbose)
            done.append(rootfs)
            root, root_hash = rootfs.tag, rootfs.hash
        base = ensure_image(client, recipe("agent-base", source, {"BASE": root}, root_hash), prefix, log, verbose)
        done.append(base)
        for name in ALL_IMAGES[1:]:
            if name in wanted:
                r = recipe(name, source, {"ROOT": root, "BASE": base.tag}, base.hash)
                done.append(ensure_image(client, r, prefix, log, verbose))
        return done
