"""Every key the schemas allow is documented (keeps docs/ from drifting from schemas/)."""

from pathlib import Path

import pytest

from runner.resources import schema

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _keys(node, out):
    if isinstance(node, dict):
        out.update(node.get("properties", {}))
        for value in node.values():
            _keys(value, out)
    elif isinstance(node, list):
        for value in node:
            _keys(value, out)
    return out


@pytest.mark.parametrize("name", ["pattern", "pool"])
def test_every_key_is_documented(name):
    text = (DOCS / f"{name}.md").read_text()
    missing = [k for k in sorted(_keys(schema(name), {})) if f"`{k}`" not in text and f"`backoff.{k}`" not in text
               and f"`resources.{k}`" not in text]
    assert missing == []
