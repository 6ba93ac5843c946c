"""``runner images build``: build the agent images (cached by recipe hash)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import click

from runner.images.build import build_images


def build(only: Sequence[str], prefix: str, root: str | None, client: str | None, source: Path | None,
          verbose: bool, out: TextIO, err: TextIO) -> int:
    """Build the images; one line per image: tag, ``built``/``cached``, seconds."""
    def log(line: str) -> None:
        click.echo(line, file=err)

    for b in build_images(only, prefix=prefix, root=root, client=client, source=source, log=log, verbose=verbose):
        out.write(f"{b.tag}\t{'cached' if b.cached else 'built'}\t{b.seconds:.1f}s\n")
    return 0


@click.group("images")
def group() -> None:
    """Runner's container images (agent-base and one per agent CLI)."""


@group.command("build")
@click.option("--only", "only", multiple=True, metavar="NAME",
              help="Build only this image and what it needs (repeatable): agent-base, agent-claude, "
                   "agent-codex, agent-gemini, agent-aider.")
@click.option("--prefix", default="runner/", show_default=True, help="Repository prefix of the tags.")
@click.option("--root", metavar="IMAGE", help="Image agent-base starts FROM (default: a local mmdebstrap "
              "rootfs when mmdebstrap exists, else python:3.11-slim; env RUNNER_IMAGE_ROOT).")
@click.option("--client", metavar="PATH", help="docker client binary (env RUNNER_DOCKER_CLIENT).")
@click.option("--source", type=click.Path(path_type=Path, file_okay=False), help="runner source tree.")
@click.option("--verbose", "-v", is_flag=True, help="Show the build output.")
def build_command(only: tuple[str, ...], prefix: str, root: str | None, client: str | None,
                  source: Path | None, verbose: bool) -> int:
    """Build the images that changed since their last build."""
    return build(only, prefix, root, client, source, verbose, sys.stdout, sys.stderr)


command = group
