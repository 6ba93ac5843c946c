"""Pool options of the etcd registry, endpoints parsing and the stored record (no etcd needed)."""

from __future__ import annotations

import json

import pytest

from runner.errors import ConfigurationError
from runner.plugins import load
from runner.registries import REGISTRIES
from runner.registries.etcd_client import TLSFiles, parse_endpoints
from runner.registries.etcd_options import OPTIONS_SCHEMA, option_errors, settings_from
from runner.registries.etcd_record import agent_from_record, record_for
from tests.helpers.etcd import agent_info


def test_registered_by_name() -> None:
    cls = load("registry", REGISTRIES, "etcd")
    assert cls.name == "etcd"
    assert option_errors({"endpoints": ["http://h:2379"]}) == []
    assert cls.options_schema is OPTIONS_SCHEMA


def test_option_errors_name_every_problem() -> None:
    errors = option_errors({
        "endpoint": "x", "password": "hunter2", "prefix": "", "ttl": 0, "timeout": "soon",
        "passwordEnv": "P", "tls": {"ca": "ca.pem", "cert": "c.pem", "kye": "k.pem"},
    })  # fmt: skip
    # the registry's options_schema says it (the same check `runner validate` makes, with lines)
    assert sorted(errors) == sorted([
        "unknown key `endpoint` (did you mean `endpoints`?)",
        "unknown key `password` (did you mean `passwordEnv`?)",
        "`prefix`: must not be empty",
        "`ttl`: must be at least 1, got integer 0",
        '`timeout`: expected a duration like 5s or 500ms, got string "soon"',
        "`passwordEnv` needs `username` (or `usernameEnv`) too",
        "unknown key `kye` (did you mean `key`?)",
        "`cert` and `key` go together",
    ])
    assert "hunter2" not in "".join(errors)


def test_settings_resolve_credentials_from_the_environment() -> None:
    options = {"endpoints": "etcd://h1:2379,h2:2379", "usernameEnv": "U", "passwordEnv": "P", "timeout": "500ms",
               "tls": {"ca": "ca.pem"}}  # fmt: skip
    s = settings_from(options, {"U": "runner", "P": "secret"})
    assert (s.username, s.password, s.timeout, s.prefix, s.ttl) == (
        "runner",
        "secret",
        0.5,
        "/runner/agents/",
        10,
    )
    assert s.tls == TLSFiles(ca="ca.pem")
    assert s.client().endpoints == ["http://h1:2379", "http://h2:2379"]
    with pytest.raises(ConfigurationError, match=r"`passwordEnv` names \$P, which is not set"):
        settings_from(options, {"U": "runner"})
    # durations are read by runner.spec.units, with its maximum
    with pytest.raises(ConfigurationError, match=r"`timeout`: `1000h` is more than the maximum, 30 days"):
        settings_from({"timeout": "1000h"}, {})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("etcd://a:1,b:2", ["http://a:1", "http://b:2"]),
        ("etcds://a:1", ["https://a:1"]),
        (["http://a:1/", "b:2"], ["http://a:1", "http://b:2"]),
    ],
)
def test_parse_endpoints(value: str | list[str], expected: list[str]) -> None:
    assert parse_endpoints(value) == expected


def test_record_round_trip_and_bad_values() -> None:
    info = agent_info("a1", "http://h:1", ["x"], type="claude", expertise={"go": 0.5}, zone="eu")
    raw = json.dumps(record_for(info, healthy=False, message="busy")).encode()
    agent = agent_from_record("/p/a1", raw)
    assert agent is not None
    assert (agent.id, agent.type, agent.capabilities, agent.expertise) == (
        "a1",
        "claude",
        ("x",),
        {"go": 0.5},
    )
    assert agent.metadata["zone"] == "eu" and agent.metadata["status"]["message"] == "busy"
    assert agent_from_record("/p/junk", b"not json") is None
    minimal = agent_from_record("/p/m1", b'{"endpoint": "http://h:2"}')
    assert minimal is not None and (minimal.id, minimal.type, minimal.name) == ("m1", "remote", "m1")
