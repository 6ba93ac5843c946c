"""Runtimes by name. The pool's ``runtimes[].type`` and ``runner`` choices come from here."""

RUNTIMES: dict[str, str] = {
    "local": "runner.runtimes.local:LocalRuntime",
    "docker": "runner.runtimes.docker:DockerRuntime",
}
