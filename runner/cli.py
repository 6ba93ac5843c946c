"""Click wiring only: every command's work is a plain function in ``runner.commands``.

Errors are handled once, here: a ``RunnerError`` prints its one-line (or per-diagnostic)
message and exits with its stable code; Ctrl-C exits 130; a reader that went away
(``runner runs list | head -1``) ends the command quietly with 141, as a program killed by
SIGPIPE does; anything else is a bug and says so.
"""

from __future__ import annotations

import functools
import importlib
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from runner import __version__
from runner.errors import EXIT_BROKEN_PIPE, EXIT_INTERNAL, EXIT_INTERRUPTED, RunnerError


def broken_pipe() -> NoReturn:
    """The reader of our output went away: stop without a word (not even at exit, when Python
    would flush what is left into the closed pipe) and exit ``EXIT_BROKEN_PIPE``."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (a test's capture): nothing to silence
        pass
    sys.exit(EXIT_BROKEN_PIPE)


def run_command(fn: Callable[..., int | None], *args: Any, **kwargs: Any) -> NoReturn:
    """Call a command function and exit with its code; map runner's errors to exit codes."""
    try:
        code = fn(*args, **kwargs)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
    except BrokenPipeError:
        broken_pipe()
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


class LazyGroup(click.Group):
    """Imports a subcommand's module only when that subcommand runs (or ``--help`` lists it),
    so ``runner apply`` never pays for the modules of ``runner agent serve``."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, _, attr = self.lazy[name].partition(":")
            self.add_command(handled(getattr(importlib.import_module(module), attr)), name)
        return super().get_command(ctx, name)


def handled(command: click.Command) -> click.Command:
    """``command`` (and every subcommand of a group) with the one error handler around its
    callback: the callback returns an exit code, ``run_command`` maps errors and exits."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            handled(sub)
    callback = command.callback
    if callback is not None and not getattr(callback, "_handled", False):
        @functools.wraps(callback)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if isinstance(command, click.Group):  # a group's own callback runs before its subcommand's
                return callback(*args, **kwargs)
            run_command(callback, *args, **kwargs)

        wrapper._handled = True  # type: ignore[attr-defined]
        command.callback = wrapper
    return command


#: subcommand -> "module:click object"; each module owns its command.
COMMANDS = {
    "validate": "runner.commands.validate:command",
    "plan": "runner.commands.plan:command",
    "apply": "runner.commands.apply:command",
    "runs": "runner.commands.runs:runs",
    "logs": "runner.commands.logs:logs",
    "report": "runner.commands.report:command",
    "agent": "runner.commands.agent:agent_group",
    "agents": "runner.commands.agents:agents_group",
    "images": "runner.commands.images:command",
    "gc": "runner.commands.gc:command",
    "pool": "runner.commands.pool:pool_group",
    "patterns": "runner.commands.patterns:patterns_group",
    "test": "runner.commands.test:command",
    "approve": "runner.commands.approve:command",
    "lock": "runner.commands.lock:command",
}


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="runner")
def main() -> None:
    """Run AI coding agents from declarative YAML patterns and pools."""
