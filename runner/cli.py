"""Click wiring only: every command's work is a plain function in ``runner.commands``.

Errors are handled once, here: a ``RunnerError`` prints its one-line (or per-diagnostic)
message and exits with its stable code; Ctrl-C exits 130; anything else is a bug and says so.
"""

from __future__ import annotations

import sys

import click

from runner import __version__
from runner.errors import EXIT_INTERNAL, EXIT_INTERRUPTED, RunnerError


def run_command(fn, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
    """Call a command function and exit with its code; map runner's errors to exit codes."""
    try:
        code = fn(*args, **kwargs)
    except RunnerError as exc:
        click.echo(f"error: {exc.render()}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except Exception as exc:  # noqa: BLE001 - the one place unexpected errors are reported
        click.echo(f"internal error (a bug in runner, please report it): {type(exc).__name__}: {exc}", err=True)
        sys.exit(EXIT_INTERNAL)
    sys.exit(code or 0)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="runner")
def main() -> None:
    """Run AI coding agents from declarative YAML patterns and pools."""


# Subcommands are registered below by the modules that own them:
#   main.add_command(<click command or group>)

# Imported here, after ``main`` and ``run_command`` exist: the command modules use them.
from runner.commands import apply as _apply  # noqa: E402
from runner.commands import plan as _plan  # noqa: E402
from runner.commands import validate as _validate  # noqa: E402
from runner.commands.logs import logs  # noqa: E402
from runner.commands.runs import runs  # noqa: E402

main.add_command(_validate.command)
main.add_command(_plan.command)
main.add_command(_apply.command)
main.add_command(runs)
main.add_command(logs)

# These modules import click only (grpc stays lazy).
from runner.commands.agent import agent_group  # noqa: E402
from runner.commands.agents import agents_group  # noqa: E402

main.add_command(agent_group)
main.add_command(agents_group)

from runner.commands.pool import pool_group  # noqa: E402

main.add_command(pool_group)
