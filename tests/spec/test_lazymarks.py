"""Marks are built on first need (runner.spec.yamlload._Marks): what a file's first, unmarked pass
keeps (the top level's marks) is what the full tables hold, and the full tables are those of a
marking load, for every real document."""

from __future__ import annotations

from runner.spec.yamlload import _load, load_yaml
from tests.spec.test_fuzz import SEEDS


def test_lazy_marks_are_the_marking_loads_marks():
    assert SEEDS
    for text in SEEDS:
        doc = load_yaml(text, "f.yaml")
        full = _load(text, "f.yaml", marking=True)
        known = dict(doc.marks._known), dict(doc.value_marks._known)  # type: ignore[attr-defined]
        assert known[0].items() <= full.marks.items() and known[1].items() <= full.value_marks.items()
        assert dict(doc.marks) == full.marks and dict(doc.value_marks) == full.value_marks
        assert doc.data == full.data


def test_a_top_level_lookup_does_not_parse_again():
    doc = load_yaml("name: x\nsteps:\n  - id: a\n    task: t\n  - id: b\n    task: u\n", "f.yaml")
    assert doc.marks["$.steps[1]"] == (5, 5) and "$.steps" in doc.marks
    assert doc.marks._tables._built is None  # type: ignore[attr-defined]
    assert doc.marks["$.steps[1].task"] == (6, 5)  # deeper: the full tables, built now
    assert doc.marks._tables._built is not None  # type: ignore[attr-defined]
