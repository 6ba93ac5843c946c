"""What the three plug-in contract tests share: declarations every plug-in kind makes as data."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from runner.errors import SpecError
from runner.plugins import option_errors
from runner.spec import parse_pool

ROOT = Path(__file__).resolve().parents[2]
#: top-level modules of the backends a plug-in must import lazily (never when its class loads)
BACKENDS = ("python_on_whales", "kubernetes", "etcd3gw", "grpc", "google.protobuf")


def pip_extras() -> set[str]:
    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])


def assert_closed_schema(schema: dict[str, Any]) -> None:
    """A valid JSON Schema of a mapping whose unknown keys are errors, with a near miss."""
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object" and schema["additionalProperties"] is False
    assert option_errors(schema, {}) == [] or all("missing" in e for e in option_errors(schema, {}))
    assert option_errors(schema, {"no_such_option": 1}) == [
        f"unknown key `no_such_option` ({_hint('no_such_option', schema)})"]
    json.dumps(schema)  # plain data: the docs and the generated reference read it
    undescribed = [k for k, v in schema["properties"].items() if not v.get("description")]
    assert undescribed == [], "docs/plugins.md shows each option's description: give one"


def _hint(key: str, schema: dict[str, Any]) -> str:
    from runner.plugins import suggest

    return suggest(key, list(schema["properties"]))


def imported_backends(kind: str, table: str, name: str) -> list[str]:
    """The backend modules loaded by loading plug-in ``name`` (in a fresh interpreter)."""
    code = (f"import sys\nfrom runner.plugins import load\nfrom {table.rsplit('.', 1)[0]} import "
            f"{table.rsplit('.', 1)[1]} as T\nload({kind!r}, T, {name!r})\n"
            f"print(sorted(m for m in sys.modules if m.split('.')[0] in {BACKENDS!r} or m in {BACKENDS!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.replace("'", '"'))


def pool_errors(text: str) -> list[str]:
    """The rendered diagnostics of pool ``text`` (``p.yaml``), [] when it loads."""
    try:
        parse_pool(text, "p.yaml")
    except SpecError as exc:
        return [d.render() for d in exc.diagnostics]
    return []
