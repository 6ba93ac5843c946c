"""The static, env and direct registries."""

from __future__ import annotations

import json

import pytest

from runner.agents.model import AgentInfo
from runner.context import RunContext
from runner.errors import SpecError
from runner.plugins import load
from runner.registries import REGISTRIES
from runner.registries.direct import DirectRegistry, register_agent, registered_agents, unregister_agent
from runner.registries.env import EnvRegistry
from runner.registries.static import StaticRegistry
from runner.spec.models import AgentDef, Pool, StaticAgent


def env_registry(environ: dict[str, str], **options) -> EnvRegistry:
    return EnvRegistry(RunContext(environ=environ), Pool(name="p"), options)


def errors(environ: dict[str, str], **options) -> list[str]:
    with pytest.raises(SpecError) as info:
        env_registry(environ, **options).agents()
    return [d.render() for d in info.value.diagnostics]


def test_registry_names_load():
    assert load("registry", REGISTRIES, "static") is StaticRegistry
    assert load("registry", REGISTRIES, "env") is EnvRegistry
    assert load("registry", REGISTRIES, "direct") is DirectRegistry


def test_static_registry():
    d = AgentDef(command=("prog",), capabilities=("code",), expertise={"py": 0.9}, metadata={"k": 1})
    pool = Pool(name="p", agents=(StaticAgent(id="a1", name="One", definition=d),
                                  StaticAgent(id="a2", name="Two", definition=AgentDef(), endpoint="http://h:1")))
    a1, a2 = StaticRegistry(RunContext(), pool, {}).agents()
    assert (a1.id, a1.name, a1.type, a1.capabilities, a1.source) == ("a1", "One", "command", ("code",), "static")
    assert a1.needs_spawn and a1.definition is d and a1.expertise == {"py": 0.9} and a1.metadata == {"k": 1}
    assert a2.endpoint == "http://h:1" and not a2.needs_spawn


def test_env_seed_form():
    seed = [{"id": "s1", "name": "Seed", "endpoint": "http://127.0.0.1:9001", "capabilities": ["review"]}]
    (a,) = env_registry({"PARALLAX_LOCAL_AGENTS": json.dumps(seed)}).agents()
    assert (a.id, a.name, a.endpoint, a.capabilities, a.source) == ("s1", "Seed", "http://127.0.0.1:9001",
                                                                    ("review",), "env")
    assert not a.needs_spawn


def test_env_command_form_and_both_variables():
    entries = [{"id": "c1", "command": ["python3", "agent.py"], "capabilities": ["code"], "type": "command",
                "expertise": ["python"], "metadata": {"team": "x"}, "mode": "long-lived",
                "readyPattern": "> $", "credentials": {"KEY": "RUNNER_KEY"}, "confidence": 0.6},
               {"id": "c2", "command": "prog --flag 'two words'", "expertise": 0.7,
                "credentials": {"TOKEN": {"env": "RUNNER_TOKEN"}}}]
    seed = [{"id": "s1", "name": "S", "endpoint": "grpc://127.0.0.1:50051", "capabilities": []}]
    agents = env_registry({"RUNNER_LOCAL_AGENTS": json.dumps(entries),
                           "PARALLAX_LOCAL_AGENTS": json.dumps(seed)}).agents()
    c1, c2, s1 = agents
    assert c1.needs_spawn and c1.name == "c1" and c1.expertise == {"python": 1.0}
    assert c1.definition.command == ("python3", "agent.py") and c1.definition.mode == "long-lived"
    assert c1.definition.ready_pattern == "> $" and c1.definition.credentials == {"KEY": "RUNNER_KEY"}
    assert c1.definition.confidence == 0.6 and c1.metadata == {"team": "x"}
    assert c2.definition.command == ("prog", "--flag", "two words")
    assert c2.expertise == {"*": 0.7} and c2.definition.credentials == {"TOKEN": "RUNNER_TOKEN"}
    assert s1.endpoint == "grpc://127.0.0.1:50051"


def test_env_custom_variable_and_empty():
    assert env_registry({}).agents() == []
    assert env_registry({"RUNNER_LOCAL_AGENTS": "  "}).agents() == []
    environ = {"MY_AGENTS": '[{"id": "m", "endpoint": "http://h:1"}]',
               "RUNNER_LOCAL_AGENTS": "not read when a variable is named"}
    assert [a.id for a in env_registry(environ, variable="MY_AGENTS").agents()] == ["m"]


def test_env_invalid_json():
    assert errors({"RUNNER_LOCAL_AGENTS": '[{"id": "a",\n "endpoint": }]'}) == [
        "RUNNER_LOCAL_AGENTS:2:14: $: invalid JSON: Expecting value"]


def test_env_not_an_array():
    assert errors({"MY": '{"id": "a"}'}, variable="MY") == ["MY: $: expected a JSON array of agents, got an object"]


def test_env_bad_entries():
    entries = [42, {"name": "no id", "endpoint": "http://h:1"}, {"id": "e", "endpoint": "ftp://x"},
               {"id": "b", "endpoint": "http://h:1", "command": ["x"]}, {"id": "n"},
               {"id": "c", "command": [], "capabilities": "code", "expertise": {"py": 3}, "comand": 1},
               {"id": "d", "endpoint": "http://h:1"}, {"id": "d", "endpoint": "http://h:2"}]
    got = errors({"RUNNER_LOCAL_AGENTS": json.dumps(entries)})
    assert got == [
        "RUNNER_LOCAL_AGENTS: $[0]: expected an object describing an agent, got a number",
        "RUNNER_LOCAL_AGENTS: $[1].id: missing: every agent needs a non-empty string `id`",
        "RUNNER_LOCAL_AGENTS: $[2].endpoint: expected an http://, https://, grpc:// or grpcs:// URL, got 'ftp://x'",
        "RUNNER_LOCAL_AGENTS: $[3]: has both `endpoint` and `command`: give one",
        "RUNNER_LOCAL_AGENTS: $[4]: needs an `endpoint` (a running agent) or a `command` (an agent to start)",
        # the definition's keys are checked by the pool schema (runner.spec.agentdef): its words
        "RUNNER_LOCAL_AGENTS: $[5].comand: unknown key `comand` (did you mean `command`?)",
        "RUNNER_LOCAL_AGENTS: $[5].capabilities: expected a list, got string \"code\"",
        "RUNNER_LOCAL_AGENTS: $[5].command: must not be empty",
        "RUNNER_LOCAL_AGENTS: $[5].expertise.py: must be at most 1, got integer 3",
        "RUNNER_LOCAL_AGENTS: $[7].id: duplicate agent id `d`",
    ]


def test_env_duplicate_across_variables():
    one = '[{"id": "a", "endpoint": "http://h:1"}]'
    got = errors({"RUNNER_LOCAL_AGENTS": one, "PARALLAX_LOCAL_AGENTS": one})
    assert got == ["PARALLAX_LOCAL_AGENTS: $: duplicate agent id `a` (already listed in RUNNER_LOCAL_AGENTS)"]


def test_env_option_errors():
    from runner.plugins import option_errors

    schema = EnvRegistry.options_schema
    assert option_errors(schema, {"variable": "X"}) == []
    assert option_errors(schema, {"varible": "X"}) == ["unknown key `varible` (did you mean `variable`?)"]
    assert option_errors(schema, {"variable": ""}) == [
        '`variable`: expected the name of an environment variable, got string ""']


def test_direct_registry():
    info = AgentInfo(id="direct-1", name="D", type="command", endpoint="http://127.0.0.1:1", source="static")
    try:
        stored = register_agent(info)
        assert stored.source == "direct"
        assert stored in registered_agents()
        assert DirectRegistry(RunContext(), Pool(name="p"), {}).agents() == registered_agents()
        register_agent(AgentInfo(id="direct-1", name="D2", type="command", endpoint="http://127.0.0.1:2"))
        assert [a.name for a in registered_agents() if a.id == "direct-1"] == ["D2"]
    finally:
        assert unregister_agent("direct-1")
    assert not unregister_agent("direct-1")
    assert all(a.id != "direct-1" for a in registered_agents())


def test_env_bad_definition_fields():
    entry = {"id": "x", "command": ["p"], "credentials": {"A": 5}, "env": {"B": []}, "mode": 3,
             "confidence": 2, "options": [], "metadata": "m", "type": 1}
    assert errors({"RUNNER_LOCAL_AGENTS": json.dumps([entry])}) == [
        "RUNNER_LOCAL_AGENTS: $[0].confidence: must be at most 1, got integer 2",
        "RUNNER_LOCAL_AGENTS: $[0].credentials.A: expected a mapping or a string, got integer 5",
        "RUNNER_LOCAL_AGENTS: $[0].env.B: expected a string or a number or a boolean (true or false), got a list",
        "RUNNER_LOCAL_AGENTS: $[0].metadata: expected a mapping, got string \"m\"",
        "RUNNER_LOCAL_AGENTS: $[0].mode: expected one of: per-task, long-lived, got integer 3",
        "RUNNER_LOCAL_AGENTS: $[0].options: expected a mapping, got a list",
        "RUNNER_LOCAL_AGENTS: $[0].type: expected a string, got integer 1",
    ]
