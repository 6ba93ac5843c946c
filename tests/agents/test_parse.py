"""parse_answer: JSON answers, CONFIDENCE markers, and what is a PARSE failure."""

from __future__ import annotations

import pytest

from runner.agents.parse import has_structured_answer, last_json_object, parse_answer
from runner.errors import AgentFailure, FailureKind


def parse_failure(text: str, **kw) -> AgentFailure:
    with pytest.raises(AgentFailure) as info:
        parse_answer(text, None, agent_id="agent-7", **kw)
    assert info.value.kind == FailureKind.PARSE
    assert info.value.agent_id == "agent-7" and str(info.value).startswith("agent-7: ")
    return info.value


def test_json_answer():
    text = 'thinking\n{"result": "yes", "confidence": 0.85, "reasoning": "because"}\n'
    assert parse_answer(text, 0.5) == ("yes", 0.85, "because")


def test_last_json_object_with_result_wins():
    text = ('{"result": "first", "confidence": 0.1}\n{"other": 1}\n'
            '```json\n{"result": {"nested": {"result": "inner"}}, "confidence": 1}\n```\n{"x": 2}')
    assert parse_answer(text) == ({"nested": {"result": "inner"}}, 1.0, "")


def test_json_without_confidence_uses_default():
    assert parse_answer('{"result": [1, 2]}', 0.4) == ([1, 2], 0.4, "")
    assert parse_answer('{"result": null}', None) == (None, None, "")


def test_json_confidence_as_string_and_non_string_reasoning():
    assert parse_answer('{"result": 1, "confidence": "0.5", "reasoning": ["a", "b"]}') == (1, 0.5, '["a", "b"]')


@pytest.mark.parametrize("value", ["1.5", "-0.1", '"high"', "true", "NaN"])
def test_bad_json_confidence(value):
    exc = parse_failure(f'{{"result": "x", "confidence": {value}}}')
    assert "confidence" in str(exc)


def test_marker_answer():
    text = "The answer is 42.\nREASONING: counted twice\n\nCONFIDENCE: 0.75\n"
    assert parse_answer(text, 0.1) == ("The answer is 42.", 0.75, "counted twice")


def test_marker_decorations_and_last_marker_wins():
    text = "Done.\n**Confidence:** 0.2\n- confidence: 0.9"
    assert parse_answer(text) == ("Done.", 0.9, "")


def test_plain_text_takes_default_confidence():
    assert parse_answer("  just text \n", 0.6) == ("just text", 0.6, "")


@pytest.mark.parametrize("marker", ["CONFIDENCE: high", "CONFIDENCE: 2", "CONFIDENCE: -1"])
def test_bad_marker(marker):
    parse_failure(f"answer\n{marker}\n")


def test_empty_output_is_a_parse_failure():
    assert "nothing" in str(parse_failure(" \n\t"))
    parse_failure("CONFIDENCE: 0.5")  # only a marker, no answer


def test_strict_requires_json():
    exc = parse_failure("answer\nCONFIDENCE: 0.5", strict=True)
    assert "JSON" in str(exc)
    assert parse_answer('noise {"result": 3}', strict=True) == (3, None, "")


def test_broken_json_falls_back_to_text():
    text = '{"result": "unterminated, "confidence": \nplain answer'
    result, confidence, _ = parse_answer(text, 0.3)
    assert "plain answer" in result and confidence == 0.3


def test_helpers():
    assert last_json_object('{"a": {"result": 1}}') is None  # nested objects are not candidates
    assert last_json_object("{{{{ [1,2] {") is None
    assert has_structured_answer("x\nCONFIDENCE: 0.2")
    assert has_structured_answer('{"result": 1}')
    assert not has_structured_answer("Traceback: boom")
