"""Pattern libraries for the source tests: real git repositories of pattern files."""

from __future__ import annotations

from pathlib import Path

from gitrepo import git, make_repo, write

ECHO = """\
name: lib-echo
version: "1.0.0"
description: Echoes a word.
steps:
  - id: say
    agents: {capabilities: [shell]}
    task: "echo %s; echo CONFIDENCE: 0.9"
outputs:
  said: "{{ steps.say.output }}"
"""


def echo(word: str) -> str:
    """A pattern that runs on the default pool's `shell` agents and answers ``word``."""
    return ECHO % word


def using(*refs: str, name: str = "main") -> str:
    """A pattern whose steps call ``refs`` (``uses:``)."""
    steps = "".join(f"  - id: s{i}\n    uses: {ref}\n" for i, ref in enumerate(refs))
    return f"name: {name}\nsteps:\n{steps}"


def make_lib(path: Path) -> Path:
    """A library repository: `lib/echo.yaml` (uses `./parts/inner.yaml`), `lib/plain.yaml`;
    tagged v1 on `main`."""
    repo = make_repo(path, {
        "lib/echo.yaml": echo("one").replace("steps:", "steps:\n  - id: inner\n    uses: ./parts/inner.yaml", 1),
        "lib/parts/inner.yaml": echo("inner"),
        "lib/plain.yaml": echo("plain"),
    })
    git(repo, "tag", "v1")
    return repo


def commit(repo: Path, files: dict[str, str], message: str = "change") -> str:
    """Commit ``files`` on the checked-out branch; the new commit's sha."""
    write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD").strip()


def make_dist(site: Path, files: dict[str, str], name: str = "acme-patterns", version: str = "1.0.0") -> Path:
    """An installed distribution (as pip leaves it in site-packages) whose ``runner.patterns``
    entry point names the package folder ``acme_patterns/patterns`` holding ``files``."""
    module = name.replace("-", "_")
    write(site, {f"{module}/__init__.py": "", f"{module}/patterns/__init__.py": "",
                 **{f"{module}/patterns/{k}": v for k, v in files.items()},
                 f"{module}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
                 f"{module}-{version}.dist-info/entry_points.txt": f"[runner.patterns]\n{name} = {module}.patterns\n"})
    return site / module / "patterns"
