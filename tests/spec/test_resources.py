import pytest

from runner.errors import UsageError
from runner.resources import (
    builtin_pattern,
    builtin_patterns,
    builtin_patterns_dir,
    resolve_pattern_path,
    schema,
)
from runner.spec import load_pattern


def test_schemas_are_2020_12_and_closed():
    from jsonschema import Draft202012Validator

    for name in ("pattern", "pool"):
        s = schema(name)
        Draft202012Validator.check_schema(s)
        assert s["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert s["additionalProperties"] is False


def test_builtin_patterns_are_valid():
    assert builtin_patterns_dir().is_dir()
    assert "vote" in builtin_patterns()
    for name in builtin_patterns():
        assert load_pattern(builtin_pattern(name)).name == name


def test_builtin_names():
    assert resolve_pattern_path("builtin:vote") == builtin_pattern("vote")
    assert str(resolve_pattern_path("vote")) == "vote"  # a plain argument is always a path
    with pytest.raises(UsageError) as exc:
        builtin_pattern("builtin:vot")
    assert str(exc.value) == "unknown built-in pattern `vot`: did you mean `vote`?"


def test_committed_schemas_match_their_generator(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, str(root / "tools" / "gen_schemas.py"), str(tmp_path)], check=True, timeout=60)
    for name in ("pattern", "pool", "result"):
        generated = (tmp_path / f"{name}.schema.json").read_text()
        assert generated == (root / "schemas" / f"{name}.schema.json").read_text(), (
            "schemas/ is stale: run python tools/gen_schemas.py")
