"""Step fingerprints (pure): what changes them and what does not."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from runner.agents.model import AgentInfo
from runner.resume.fingerprint import StepPrints, step_definition, tree_state
from runner.spec.models import Approval, Step, WorkspaceSpec


class _Pattern:
    def __init__(self, source: str) -> None:
        self.source = source


def _print(tmp_path: Path, *, text: str = "x", inputs=None, step=None, agents=None, base=None, needs=(),  # type: ignore[no-untyped-def]
           tasks=("t",)) -> str:
    src = tmp_path / "p.yaml"
    if not src.exists():
        src.write_text(text)
    prints = StepPrints(_Pattern(str(src)), inputs if inputs is not None else {"a": 1})
    return prints.of(step or Step(id="s", task="go", line=3), agents if agents is not None else
                     [AgentInfo(id="x-1", name="x", type="command")], base, needs, tasks)


def test_the_same_parts_give_the_same_fingerprint_and_a_step_moved_in_its_file_too(tmp_path: Path) -> None:
    assert _print(tmp_path) == _print(tmp_path)
    assert _print(tmp_path) == _print(tmp_path, step=Step(id="s", task="go", line=40))


def test_each_part_changes_the_fingerprint(tmp_path: Path) -> None:
    same = _print(tmp_path)
    changed = [
        _print(tmp_path, inputs={"a": 2}),
        _print(tmp_path, step=Step(id="s", task="go", retry=dataclasses.replace(Step(id="s", task="go").retry, limit=2))),
        _print(tmp_path, step=Step(id="call/s", task="go")),  # composed steps keep their full id
        _print(tmp_path, agents=[AgentInfo(id="x-1", name="x", type="claude")]),
        _print(tmp_path, base="abc123"),
        _print(tmp_path, needs=[("up", "f1", "succeeded", "out")]),
        _print(tmp_path, tasks=("t2",)),
        _print(tmp_path, tasks=("t", "t")),
    ]
    assert len({same, *changed}) == len(changed) + 1
    up = _print(tmp_path, needs=[("up", "f1", "succeeded", "out")])
    assert up != _print(tmp_path, needs=[("up", "f1", "succeeded", "other")])  # an upstream output changed
    assert up != _print(tmp_path, needs=[("up", "f1", "failed", "out")])
    (tmp_path / "p.yaml").write_text("edited")
    assert _print(tmp_path) != same  # the pattern file


def test_a_source_outside_git_is_known_by_its_files_without_runners_state(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("1")
    (tmp_path / ".runner").mkdir()
    before = tree_state(tmp_path, (".runner",))
    (tmp_path / ".runner" / "x").write_text("journal")
    assert tree_state(tmp_path, (".runner",)) == before
    (tmp_path / "a.txt").write_text("22")
    assert tree_state(tmp_path, (".runner",)) != before


def test_a_step_definition_is_its_repr_at_line_0_so_earlier_journals_fingerprints_still_match() -> None:
    steps = [Step(id="s", task="go", line=3),
             Step(id="call/s", task="{{ x }}", needs=("a", "b"), data={"k": [1, "v"]}, workspace=WorkspaceSpec(),
                  approval=Approval(message="ok?"), cache=True, line=40, scope="call/")]
    for step in steps:
        assert step_definition(step) == repr(dataclasses.replace(step, line=0))
