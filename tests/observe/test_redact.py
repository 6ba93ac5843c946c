"""Secrets and key-shaped values never survive ``Redactor``, whatever their escaping."""

from __future__ import annotations

import base64
import json
import re
import urllib.parse

import pytest
from observe_secrets import MULTI, PLAIN, WEIRD, leaks

from runner.observe.redact import (
    KEY_PATTERNS,
    MASK,
    MEMO_CHARS,
    MEMO_SIZE,
    Redactor,
    from_environment,
    from_pool,
)


@pytest.mark.parametrize("secret", [PLAIN, MULTI, WEIRD])
@pytest.mark.parametrize("encode", [
    lambda s: s,
    lambda s: json.dumps({"out": s}),
    lambda s: json.dumps(json.dumps({"out": s})),  # JSON inside a JSON string
    lambda s: json.dumps(s).replace('"', "\\u0022"),
    lambda s: s.replace("\n", "\r\n"),  # as a PTY transcript holds it
    lambda s: urllib.parse.quote(s, safe=""),
    lambda s: "https://x/?k=" + urllib.parse.quote_plus(s),
    lambda s: base64.b64encode(s.encode()).decode(),
    lambda s: base64.b64encode(b"user:" + s.encode()).decode(),  # Basic auth
    lambda s: base64.urlsafe_b64encode(b"xx" + s.encode()).decode(),
], ids=["plain", "json", "json2", "u00xx", "crlf", "url", "query", "b64", "b64-offset", "b64url"])
def test_secret_is_masked_in_every_encoding(redactor, secret, encode):
    text = "before " + encode(secret) + " after"
    out = redactor.redact(text)
    assert MASK in out
    assert out.startswith("before ") and out.endswith(" after")
    assert encode(secret) not in out
    assert not leaks(out, [secret])


def test_each_line_of_a_multiline_secret_is_masked_alone(redactor):
    line = MULTI.splitlines()[1]
    assert redactor.redact(f"got {line} once") == "got *** once"


@pytest.mark.parametrize(("text", "expected"), [
    ("key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv here", "key *** here"),
    ("sk-proj-AbCdEfGhIjKlMnOpQrStUvWx", "***"),
    ("AIza" + "B" * 35, "***"),
    ("token ghp_" + "a1" * 18, "token ***"),
    ("gho_" + "Z" * 36 + " github_pat_" + "x" * 30, "*** ***"),
    ("xoxb-123456789012-abcdef", "***"),
    ("aws AKIAIOSFODNN7EXAMPLE", "aws ***"),
    ("Authorization: Bearer abc.def-ghi_jkl", "Authorization: ***"),
    ('{"authorization": "Basic dXNlcjpwYXNz"}', '{"authorization": "***"}'),
    ("curl -H 'X-Api-Key: 0123abcd'", "curl -H 'X-Api-Key: ***'"),
    ("GET /v1?api_key=abc123&page=2", "GET /v1?api_key=***&page=2"),
    ("PASSWORD=hunter22", "PASSWORD=***"),
    ("task-abcdefghijklmnopqrstuvwxyz max_tokens=100 Bearer", "task-abcdefghijklmnopqrstuvwxyz max_tokens=100 Bearer"),
])
def test_key_shaped_values_are_masked_without_being_known(text, expected):
    assert Redactor().redact(text) == expected


def test_redact_obj_is_deep_and_masks_secret_keys(redactor):
    obj = {"steps": [{"output": f"x {PLAIN}", "n": 3, "ok": True, "none": None, "t": (WEIRD,)}],
           "env": {"password": "short", "apiKey": "whatever", "tokens": 12}}
    out = redactor.redact_obj(obj)
    assert out == {"steps": [{"output": "x ***", "n": 3, "ok": True, "none": None, "t": ("***",)}],
                   "env": {"password": "***", "apiKey": "***", "tokens": 12}}
    assert obj["steps"][0]["output"] == f"x {PLAIN}"  # the input is not changed


def test_from_environment_reads_refs_extra_and_secret_names():
    env = {"R1": "value-one-1234", "GITHUB_TOKEN": "gh-token-value-xyz", "SHORT_TOKEN": "abc",
           "HOME": "/root/home-dir"}
    r = from_environment({"AGENT_KEY": "R1", "MISSING": "NOPE"}, env, extra=["auth-token-4567"])
    assert r.secrets == {"value-one-1234", "gh-token-value-xyz", "auth-token-4567"}
    assert r.redact("/root/home-dir abc") == "/root/home-dir abc"


def test_short_values_are_not_secrets():
    assert Redactor(["ab", "", "   "]).redact("ab cd") == "ab cd"


def test_add_learns_later_secrets():
    r = Redactor()
    r.add("late-secret-9876")
    assert r.redact("a late-secret-9876 b") == "a *** b"


class CountingRegex:
    """A compiled regex that counts the scans it makes (``finditer``)."""

    def __init__(self, regex: re.Pattern[str]) -> None:
        self.regex, self.scans = regex, 0

    def finditer(self, text: str):
        self.scans += 1
        return self.regex.finditer(text)


def test_a_clean_text_costs_one_scan_for_key_shapes_and_no_secret_regex(redactor):
    """Cheap per string (the module docstring): a plain substring test per secret decides
    whether that secret's regex runs at all; the key shapes are one regex. (The cost of a 2 kB
    log text next to one regex scan of it: bench/redact.py.)"""
    counting = [CountingRegex(regex) for _, regex in redactor._checks]
    redactor._checks = tuple((anchors, c) for (anchors, _), c in zip(redactor._checks, counting, strict=True))
    assert len(counting) == 3  # PLAIN, MULTI, WEIRD
    text = ("step lint: agent a1 answered {'result': 'pass', 'confidence': 0.9} after 1.2 s; " * 25)[:2000]
    for _ in range(200):
        assert redactor.redact(text) == text
    assert [c.scans for c in counting] == [0, 0, 0]
    assert redactor.redact(text + json.dumps(PLAIN)) == text + '"***"'
    assert sorted(c.scans for c in counting) == [0, 0, 1]  # only the secret whose anchor is there


def test_a_short_text_is_scanned_once_however_often_it_is_redacted(redactor):
    """The journal writes the same field names and values in every event: a short text is
    redacted once and remembered; a long one is scanned each time."""
    counting = [CountingRegex(regex) for _, regex in redactor._checks]
    redactor._checks = tuple((anchors, c) for (anchors, _), c in zip(redactor._checks, counting, strict=True))
    short = f"agent said {PLAIN}"
    assert len(short) <= MEMO_CHARS
    for _ in range(100):
        assert redactor.redact(short) == "agent said ***"
    assert sum(c.scans for c in counting) == 1
    long = short + " " * MEMO_CHARS
    for _ in range(3):
        assert redactor.redact(long).startswith("agent said ***")
    assert sum(c.scans for c in counting) == 4


def test_a_remembered_text_is_redacted_again_once_a_secret_is_learned():
    r = Redactor()
    assert r.redact("token late-secret-9876") == "token late-secret-9876"
    r.add("late-secret-9876")
    assert r.redact("token late-secret-9876") == "token ***"


def test_the_memory_of_short_texts_is_bounded():
    r = Redactor(["some-secret-1234"])
    for i in range(MEMO_SIZE + 10):
        assert r.redact(f"item {i} some-secret-1234") == f"item {i} ***"
    assert len(r._memo) <= MEMO_SIZE


def test_every_key_shape_starts_with_a_literal_so_the_scan_skips_ahead():
    """``re`` skips to the positions where a branch's first character is: a branch starting
    with a class or a group would be tried at every character of every text."""
    assert all(branch[0].isalnum() for branch in KEY_PATTERNS), [b for b in KEY_PATTERNS if not b[0].isalnum()]


def test_from_pool_collects_every_reference(tmp_path):
    from runner.spec.models import AgentDef, AgentTemplate, Pool, RegistryConfig, StaticAgent

    token_file = tmp_path / "token"
    token_file.write_text("file-token-value-42\n")
    pool = Pool(name="p",
                agents=(StaticAgent(id="a", name="a", definition=AgentDef(credentials={"ANTHROPIC_API_KEY": "R_A"})),),
                templates=(AgentTemplate(name="t", definition=AgentDef(credentials={"OPENAI_API_KEY": "R_T"})),),
                registries=(RegistryConfig(type="etcd", options={"passwordEnv": "R_ETCD", "endpoint": "x"}),),
                auth={"tokenFile": str(token_file)})
    env = {"R_A": "anthropic-secret-1", "R_T": "openai-secret-22", "R_ETCD": "etcd-pass-333", "OTHER": "visible-value"}
    r = from_pool(pool, env, extra=["extra-secret-4444"])
    assert r.secrets == {"anthropic-secret-1", "openai-secret-22", "etcd-pass-333", "file-token-value-42",
                         "extra-secret-4444"}
    assert r.redact("visible-value etcd-pass-333") == "visible-value ***"
