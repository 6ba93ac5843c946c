"""The checking pipeline shared by the pattern and pool loaders: YAML → schema → semantics."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from runner.errors import Diagnostic, SpecError
from runner.spec.diagnose import Reporter, schema_diagnostics
from runner.spec.yamlload import YamlDoc, load_yaml


def read_text(path: str | Path) -> str:
    """The file's text; a SpecError (not an OSError) when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        message = "no such file"
    except IsADirectoryError:
        message = "is a directory, not a file"
    except (OSError, UnicodeDecodeError) as exc:
        message = f"cannot read the file: {getattr(exc, 'strerror', None) or exc}"
    raise SpecError([Diagnostic(file=str(path), line=0, col=0, path="$", message=message)])


@contextmanager
def paused_gc() -> Iterator[None]:
    """No automatic garbage collection inside: building a document allocates tens of thousands of
    objects that all stay alive, and the collections they trigger found nothing to free yet cost
    ~30 % of a large file's load. The document bounds what is allocated (yamlload's limits)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def load_checked(text: str, source: str, schema_name: str, check: Callable[[Any, Reporter], None],
                 doc: YamlDoc | None = None) -> YamlDoc:
    """Parse ``text`` (unless already parsed as ``doc``) and report every schema and semantic problem
    at once (SpecError)."""
    with paused_gc():
        return _load_checked(text, source, schema_name, check, doc)


def _load_checked(text: str, source: str, schema_name: str, check: Callable[[Any, Reporter], None],
                  doc: YamlDoc | None) -> YamlDoc:
    doc = doc or load_yaml(text, source)
    if doc.data is None:
        raise SpecError([Diagnostic(file=source, line=1, col=1, path="$", message="the file is empty")])
    found = schema_diagnostics(doc.data, schema_name, source, doc.marks, doc.value_marks)
    rep = Reporter(source, doc.marks, doc.value_marks)
    check(doc.data, rep)
    seen = {(d.path, d.message) for d in found}
    found += [d for d in rep.diagnostics if (d.path, d.message) not in seen]
    if found:
        raise SpecError(sorted(found, key=lambda d: (d.line, d.col)))
    return doc
