"""Package sources: ``pkg:DIST/NAME``, a pattern shipped by an installed Python distribution.

A distribution ships patterns by declaring, in the entry-point group ``runner.patterns``, a
package whose folder holds pattern files (``*.yaml``)::

    [project.entry-points."runner.patterns"]
    acme-patterns = "acme_patterns.patterns"

``pkg:acme-patterns/review`` is then ``review.yaml`` in that folder (``NAME`` may name a
sub-folder: ``pkg:acme-patterns/review/strict``). The folder is found without importing the
package. Installed files are read in place (pip made them); runner.lock pins their sha256 and
the distribution's version.
"""

from __future__ import annotations

import importlib.util
from importlib import metadata
from pathlib import Path

from runner.errors import UsageError
from runner.sources.model import Origin

PREFIX = "pkg:"
GROUP = "runner.patterns"


def locate(ref: str, base_dir: Path, pinned: str | None) -> tuple[Origin, str]:
    """The pattern folder of the distribution ``ref`` names, and the file's path inside it."""
    dist_name, _, name = ref.removeprefix(PREFIX).partition("/")
    if not dist_name or not name.strip("/"):
        raise UsageError(f"package source `{ref}`: write pkg:DIST/NAME (a distribution and one of its patterns)")
    if ".." in Path(name).parts:
        raise UsageError(f"package source `{ref}`: `{name}` is not a pattern inside the distribution")
    try:
        dist = metadata.distribution(dist_name)
    except metadata.PackageNotFoundError:
        raise UsageError(f"package source `{ref}`: no installed Python distribution `{dist_name}` "
                         f"(pip install {dist_name})") from None
    folders = [folder for ep in dist.entry_points if ep.group == GROUP
               for folder in [package_folder(ep.value)] if folder is not None]
    if not folders:
        raise UsageError(f"package source `{ref}`: distribution `{dist_name}` ships no patterns "
                         f"(no `{GROUP}` entry point naming a package folder)")
    file = name.strip("/") + ("" if name.endswith((".yaml", ".yml")) else ".yaml")
    for folder in folders:
        if (folder / file).is_file():
            return Origin(ref, folder, version=dist.version), file
    known = sorted(f"`{p.relative_to(f).with_suffix('')}`" for f in folders for p in f.rglob("*.yaml"))
    raise UsageError(f"package source `{ref}`: distribution `{dist_name}` has no pattern `{name}`"
                     + (f" (it has {', '.join(known)})" if known else ""))


def package_folder(value: str) -> Path | None:
    """The folder of the package an entry point names (``module`` or ``module:attr``), unimported."""
    module = value.partition(":")[0].strip()
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations)))
    return Path(spec.origin).parent if spec.origin else None


def installed() -> list[tuple[str, Path]]:
    """Every ``pkg:DIST/NAME`` installed distributions ship, with its file; sorted."""
    out = {}
    for ep in metadata.entry_points(group=GROUP):
        folder = package_folder(ep.value)
        dist = getattr(ep, "dist", None)
        if folder is None or dist is None:
            continue
        for path in folder.rglob("*.yaml"):
            if not path.name.endswith(".test.yaml"):
                out[f"{PREFIX}{dist.name}/{path.relative_to(folder).with_suffix('').as_posix()}"] = path
    return sorted(out.items())
