"""docs/plugins.md is generated from the plug-ins' schemas: it must be current."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers.contract import ROOT


def test_the_plugin_reference_is_generated_from_the_schemas(tmp_path):
    out = tmp_path / "plugins.md"
    subprocess.run([sys.executable, str(ROOT / "tools" / "gen_plugin_docs.py"), str(out)], check=True, cwd=ROOT)
    assert (ROOT / "docs" / "plugins.md").read_text() == out.read_text(), \
        "docs/plugins.md is stale: run `python tools/gen_plugin_docs.py` and commit it"
