"""The fast yes/no schema check (runner.spec.fastschema) answers exactly as jsonschema does.

Every schema runner ships (and each of their ``$defs``) against the real documents and 600
mutations of them (the fuzz suite's generator, derandomized): valid for the fast check <=> no
jsonschema error. A check that said "valid" where jsonschema finds a problem would let a bad
file through without a message; one that said "invalid" wrongly would only cost speed, but the
test holds it to exactness too, so the fast path stays the common one.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from jsonschema import Draft202012Validator, validators
from lanes import examples

from runner.resources import schema
from runner.spec.diagnose import _unit
from runner.spec.fastschema import is_valid
from tests.spec.test_fuzz import SEEDS, mutated_data

NAMES = ["pattern", "pool", "test", "result"]
SCHEMAS = [(name, schema(name)) for name in NAMES]
SCHEMAS += [(f"{name}#{part}", {**sub, "$defs": s.get("$defs", {})})
            for name, s in SCHEMAS for part, sub in s.get("$defs", {}).items()]
WITH_UNITS = validators.extend(Draft202012Validator, {"x-unit": _unit})
# jsonschema's validators, built once per schema (building one costs more than a check)
JUDGES = [(name, s, WITH_UNITS(s), Draft202012Validator(s)) for name, s in SCHEMAS]


def _same(data: Any) -> None:
    for name, s, with_units, without in JUDGES:
        expected = not any(True for _ in with_units.iter_errors(data))
        assert is_valid(s)(data) is expected, (name, data)
        plain = not any(True for _ in without.iter_errors(data))
        assert is_valid(s, units=False)(data) is plain, (name, data)


def test_every_shipped_schema_compiles_to_an_exact_check():
    for name, s in SCHEMAS:
        assert is_valid(s) is is_valid(s), name  # compiled once, cached


def test_the_real_documents_are_judged_alike():
    docs = [yaml.load(text, Loader=yaml.CSafeLoader) for text in SEEDS]
    assert any(is_valid(schema("pattern"))(d) for d in docs)  # the fast path is taken at all
    for data in docs:
        _same(data)


@pytest.mark.parametrize("data", [
    {"name": "x", "steps": [{"id": "a", "task": "t", "timeout": "0s"}]},  # x-unit with exclusiveMinimum
    {"name": "x", "steps": [{"id": "a", "task": "t", "timeout": "721h"}]},  # over the unit's maximum
    {"name": "x", "steps": [{"id": "a", "task": "t", "retry": {"limit": True}}]},  # a bool is no integer
    {"name": "x", "steps": [{"id": "a", "task": "t", "retry": {"limit": 2.0}}]},  # 2.0 is an integer
    {"name": "x", "steps": [{"id": "a", "task": "t", "agents": {"min": 10**400}}]},
    {"name": "x", "concurrency": float("inf"), "steps": [{"id": "a", "task": "t"}]},
])
def test_edge_values_are_judged_alike(data):
    _same(data)


def test_an_unknown_keyword_sends_the_data_to_jsonschema():
    odd = {"type": "object", "unevaluatedProperties": False}
    assert is_valid(odd)({}) is False
    assert is_valid({"not": odd})({}) is False  # never "valid" on a guess, even negated


@settings(max_examples=examples(600), derandomize=True, database=None, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(mutated_data())
def test_mutated_documents_are_judged_alike(data):
    _same(data)
