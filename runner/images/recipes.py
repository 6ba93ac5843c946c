"""What each image is made of, and the hash of it that keys the build cache.

An image's *recipe* is its Dockerfile, every file its build context holds, its build args and
its parent's recipe hash. The hash is put on the image as the label ``runner.recipe`` and in its
tag (``<prefix><name>:<hash12>``); an image whose tagged hash exists is never rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runner.agents.types import CLI_TYPES

#: the image an agent type runs in: each CLI type its own, ``agent-<type>`` (other types: agent-base)
IMAGE_FOR_TYPE = {name: f"agent-{name}" for name in CLI_TYPES}
CLI_IMAGES = tuple(IMAGE_FOR_TYPE.values())
ALL_IMAGES = ("agent-base", *CLI_IMAGES)
RECIPE_LABEL = "runner.recipe"


def source_root() -> Path:
    """The source tree runner was installed from (editable installs; images need it)."""
    return Path(__file__).resolve().parents[2]


def base_sources(source: Path) -> list[str]:
    """What agent-base's context copies from the source tree: what the wheel build reads
    (pyproject.toml, its readme, ``runner/`` and the wheel's force-included folders)."""
    project = tomllib.loads((source / "pyproject.toml").read_text())
    wheel = project.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {}).get("wheel", {})
    readme = project.get("project", {}).get("readme", "README.md")
    return ["pyproject.toml", readme if isinstance(readme, str) else "README.md", "runner",
            *sorted(wheel.get("force-include", {}))]


def extra_ca_certs() -> list[Path]:
    """The build host's locally added CA certificates (``$RUNNER_IMAGE_CA_DIR``, default
    ``/usr/local/share/ca-certificates``): builds behind a TLS-inspecting proxy need them."""
    folder = Path(os.environ.get("RUNNER_IMAGE_CA_DIR", "/usr/local/share/ca-certificates"))
    return sorted(f for f in folder.glob("*.crt") if f.is_file()) if folder.is_dir() else []


def _skip(path: Path) -> bool:
    return "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo")


def context_files(name: str, source: Path) -> Iterator[tuple[str, Path | None]]:
    """``(path in the context, file in the source tree)``; None marks a directory to create."""
    images = source / "images"
    yield "Dockerfile", images / name / "Dockerfile"
    yield "certs", None
    for cert in extra_ca_certs():
        yield f"certs/{cert.name}", cert
    if name == "agent-base":
        yield "requirements.py", images / name / "requirements.py"
        yield "src", None
        for rel in base_sources(source):
            src = source / rel
            if src.is_dir():
                yield f"src/{rel}", None
                for f in sorted(src.rglob("*")):
                    if f.is_file() and not _skip(f):
                        yield "src/" + f.relative_to(source).as_posix(), f
            elif src.is_file():
                yield f"src/{rel}", src
            else:  # pyproject names it (readme, force-include): an empty one is made
                yield f"src/{rel}", None
    elif name in ("agent-claude", "agent-codex", "agent-gemini"):
        yield "fetch_node.py", images / "fetch_node.py"


@dataclass(frozen=True, kw_only=True)
class Recipe:
    name: str
    files: tuple[tuple[str, Path | None], ...]
    build_args: Mapping[str, str] = field(default_factory=dict)
    parent_hash: str = ""

    @property
    def hash(self) -> str:
        h = hashlib.sha256()
        h.update(f"{self.name}\0{self.parent_hash}\0".encode())
        for key in sorted(self.build_args):
            h.update(f"arg {key}={self.build_args[key]}\0".encode())
        for rel, src in self.files:
            h.update(f"file {rel}\0".encode())
            if src is not None:
                h.update(hashlib.sha256(src.read_bytes()).digest())
        return h.hexdigest()

    def tag(self, prefix: str) -> str:
        return f"{prefix}{self.name}:{self.hash[:12]}"


def recipe(name: str, source: Path, build_args: Mapping[str, str], parent_hash: str = "") -> Recipe:
    return Recipe(name=name, files=tuple(context_files(name, source)), build_args=dict(build_args),
                  parent_hash=parent_hash)


def rootfs_hash(source: Path) -> str:
    """The recipe of the locally made root image: its build script."""
    return hashlib.sha256((source / "images" / "rootfs" / "build.sh").read_bytes()).hexdigest()
