"""``runner agents ...``: look at the agents a pool or a registry knows."""

from __future__ import annotations

import click

from runner.commands.agents_list import list_command


@click.group("agents")
def group() -> None:
    """Inspect registered agents."""


group.add_command(list_command)
