"""Usage, normalised: each CLI's report read into one shape; absent fields stay absent."""

from __future__ import annotations

import pytest

from runner.agents import usage
from runner.agents.parse import answer_usage
from runner.errors import AgentFailure


def test_claude_counts_cache_reads_and_writes_as_input():
    result = {"type": "result", "usage": {"input_tokens": 5, "cache_read_input_tokens": 100,
                                          "cache_creation_input_tokens": 10, "output_tokens": 7},
              "total_cost_usd": 0.012, "num_turns": 2}
    assert usage.from_claude(result) == {"input_tokens": 115, "output_tokens": 7, "cache_read_tokens": 100,
                                         "cost_usd": 0.012, "turns": 2}
    assert usage.from_claude({"type": "result"}) == {}


def test_codex_sums_its_turns():
    turns = [{"input_tokens": 20, "cached_input_tokens": 4, "output_tokens": 9, "reasoning_output_tokens": 0},
             {"input_tokens": 1, "output_tokens": 1}]
    assert usage.from_codex(turns) == {"input_tokens": 21, "output_tokens": 10, "cache_read_tokens": 4, "turns": 2}


def test_gemini_json_and_stream_json_stats():
    stats = {"models": {"a": {"api": {"totalRequests": 2}, "tokens": {"prompt": 25, "candidates": 8, "cached": 3,
                                                                      "thoughts": 2, "total": 38}},
                        "b": {"tokens": {"prompt": 5, "candidates": 1}}}}
    assert usage.from_gemini(stats) == {"input_tokens": 30, "output_tokens": 11, "cache_read_tokens": 3, "turns": 2}
    flat = {"total_tokens": 33, "input_tokens": 25, "output_tokens": 8, "cached": 0, "input": 25}
    assert usage.from_gemini({**flat, "models": {"m": flat}}) == \
        {"input_tokens": 25, "output_tokens": 8, "cache_read_tokens": 0}  # stream-json (recorded)
    assert usage.from_gemini({"models": {"m": flat, "n": flat}})["input_tokens"] == 50


@pytest.mark.parametrize("line,expected", [
    ("Tokens: 593 sent, 3 received.", {"input_tokens": 593, "output_tokens": 3, "turns": 1}),
    ("Tokens: 2.3k sent, 1.1k cache write, 5.5k cache hit, 63 received. Cost: $0.0039 message, $0.01 session.",
     {"input_tokens": 2300, "output_tokens": 63, "cache_read_tokens": 5500, "cost_usd": 0.0039, "turns": 1}),
    ("Tokens: nonsense", {}),
])
def test_aider_tokens_line(line, expected):
    assert usage.from_aider(line) == expected


def test_sums_keep_absent_fields_absent():
    assert usage.add({"input_tokens": 1}, {"input_tokens": 2, "cost_usd": 0.5}, {}) == \
        {"input_tokens": 3, "cost_usd": 0.5}
    assert usage.add() == {} and usage.tokens({"input_tokens": 3, "output_tokens": 4, "cache_read_tokens": 9}) == 7


def test_checked_rejects_unknown_fields_and_bad_numbers():
    assert usage.checked({"input_tokens": 3, "cost_usd": 0}) == {"input_tokens": 3, "cost_usd": 0.0}
    for bad in ({"tokens": 3}, {"input_tokens": -1}, {"cost_usd": "1"}, {"turns": True}, [1]):
        with pytest.raises(ValueError):
            usage.checked(bad)


def test_a_command_answer_reports_usage_in_its_json():
    out = 'thinking\n{"result": 42, "usage": {"input_tokens": 10, "output_tokens": 2, "cost_usd": 0.001}}\n'
    assert answer_usage(out) == {"input_tokens": 10, "output_tokens": 2, "cost_usd": 0.001}
    assert answer_usage('{"result": 1}') == {} and answer_usage("plain text") == {}
    with pytest.raises(AgentFailure, match="usage.tokens"):
        answer_usage('{"result": 1, "usage": {"tokens": 3}}')
