"""One agent definition codec (runner.spec.agentdef), round-tripped through every transport that
carries a definition: pool YAML, env registry JSON, etcd record, container env, pod args, the
warm pool's servers and `runner agent serve` options. Each transport runs its own code path; only etcd/docker/a cluster
are left out (the record, env and manifest are built and read by the functions those use)."""

from __future__ import annotations

import dataclasses
import inspect
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runner.agents.model import AgentInfo
from runner.commands.agent import definition_from_options, serve_cli
from runner.context import RunContext
from runner.docker.entry import DEFINITION_ENV, definition_from_json, definition_to_json
from runner.errors import SpecError
from runner.registries.env import EnvRegistry
from runner.registries.etcd_record import agent_from_record, record_for
from runner.runtimes.k8s_manifests import pod_manifest
from runner.runtimes.k8s_options import parse_settings
from runner.spec import parse_pool
from runner.spec.agentdef import agentdef_from_data, agentdef_to_data
from runner.spec.models import AgentDef, AgentTemplate, Pool, Resources
from tests.helpers.kube_expand import expand

REPO = Path(__file__).resolve().parents[2]

FULL = AgentDef(
    type="claude",
    command=("python3", "agent.py", "--flag", "two words", "$(HOME)", "$$x"),  # `$(` matters in pods
    mode="long-lived",
    input="argument",
    ready_pattern=r"^> $",
    login_pattern=r"log in at (\S+)",
    done_pattern=r"^DONE$",
    workdir="/srv/agent",
    env={"LANG": "C.UTF-8", "MODE": "fast"},
    credentials={"ANTHROPIC_API_KEY": "MY_ANTHROPIC_KEY"},
    capabilities=("review", "python"),
    expertise={"python": 0.9, "go": 0.25},
    confidence=0.75,
    metadata={"team": "infra", "singleUse": True, "tags": [1, "two"]},
    resources=Resources(cpu=1.5, memory=3 * 1024**3 + 7, timeout=900.5, idle_timeout=0.25),
    runtime="docker",
    options={"model": "opus", "base_url": "http://127.0.0.1:9/v1", "max_retries": 2},
)
# Inside a container or pod: credentials by their variable names there (the values arrive under
# those names), no host working directory (docker: /work).
IN_POD = dataclasses.replace(FULL, workdir=None, credentials={"ANTHROPIC_API_KEY": "ANTHROPIC_API_KEY"})


def test_every_field_is_set_to_a_non_default_value():
    # a field added to AgentDef or Resources must be added here (and so to every transport)
    for obj, default in ((FULL, AgentDef()), (FULL.resources, Resources())):
        same = [f.name for f in dataclasses.fields(obj) if getattr(obj, f.name) == getattr(default, f.name)]
        assert same == []


def test_codec_round_trip_is_plain_json():
    data = agentdef_to_data(FULL)
    assert json.loads(json.dumps(data)) == data
    assert agentdef_from_data(json.loads(json.dumps(data))) == FULL
    assert data["credentials"] == {"ANTHROPIC_API_KEY": {"env": "MY_ANTHROPIC_KEY"}}  # a name, never a value
    assert agentdef_to_data(AgentDef()) == {} and agentdef_from_data({}) == AgentDef()


def test_pool_yaml():
    text = yaml.safe_dump({"name": "p", "agents": [{"id": "a1", **agentdef_to_data(FULL)}],
                           "templates": [{"name": "t", "maxInstances": 2, **agentdef_to_data(FULL)}]})
    pool = parse_pool(text, "p.yaml")
    assert pool.agents[0].definition == FULL and pool.templates[0].definition == FULL


def test_pool_units_read_as_the_codec_writes_them():
    text = """
name: p
templates:
  - {name: t, command: [x], resources: {cpu: 500m, memory: 1Gi, timeout: 1m30s, idleTimeout: 500ms}}
"""
    d = parse_pool(text).templates[0].definition
    assert d.resources == Resources(cpu=0.5, memory=1024**3, timeout=90.0, idle_timeout=0.5)
    assert agentdef_to_data(d)["resources"] == {"cpu": 0.5, "memory": 1024**3, "timeout": 90.0, "idleTimeout": 0.5}
    assert agentdef_from_data(agentdef_to_data(d)) == d


def test_env_registry(monkeypatch):
    monkeypatch.setenv("RUNNER_LOCAL_AGENTS", json.dumps([{"id": "a1", **agentdef_to_data(FULL)}]))
    (info,) = EnvRegistry(RunContext(), Pool(name="p"), {}).agents()  # RunContext reads os.environ
    assert info.definition == FULL
    assert (info.type, info.capabilities, info.expertise, info.metadata) == (
        FULL.type, FULL.capabilities, FULL.expertise, FULL.metadata)


def test_etcd_record():
    info = AgentInfo(id="a1", name="A", type=FULL.type, endpoint="http://h:1", definition=FULL)
    raw = json.dumps(record_for(info)).encode()  # as EtcdRegistration writes it
    agent = agent_from_record("/runner/agents/a1", raw)
    assert agent is not None and agent.definition == FULL
    plain = AgentInfo(id="a2", name="B", type="command", endpoint="http://h:2")
    assert "definition" not in record_for(plain)
    assert agent_from_record("/p/a2", json.dumps(record_for(plain)).encode()).definition is None


def test_container_env():
    env = {DEFINITION_ENV: definition_to_json(FULL, sorted(FULL.credentials), "/work")}  # as docker_handle
    assert definition_from_json(env[DEFINITION_ENV]) == dataclasses.replace(IN_POD, workdir="/work")


def _kubelet(arg: str) -> str:
    return expand(arg, {"HOME": "/home/agent"})  # Kubernetes' $(VAR) / $$ rules, as the test kubelet


def _serve_definition(args: list[str]) -> AgentDef:
    """What `runner agent serve ARGS` serves: click parses, definition_from_options builds."""
    params = serve_cli.make_context("serve", list(args)).params
    wanted = inspect.signature(definition_from_options).parameters
    return definition_from_options(**{k: v for k, v in params.items() if k in wanted})


def test_pod_args_through_agent_serve():
    info = AgentInfo(id="a1", name="A", type=FULL.type, definition=FULL)
    container = pod_manifest(parse_settings({}, {}), "run-1", info)["spec"]["containers"][0]
    assert container["command"] == ["runner", "agent", "serve"]
    args = [_kubelet(a) for a in container["args"]]
    assert _serve_definition(args) == IN_POD


def test_warm_pool_server(tmp_path, monkeypatch):
    from runner.warm.supervisor import Slot, Supervisor

    template = AgentTemplate(name="t", definition=FULL)
    sup = Supervisor(Pool(name="p", templates=(template,), warm_pool={"t": 1}), tmp_path,
                     environ={"MY_ANTHROPIC_KEY": "sk-test"})
    slot = Slot(template=template, id="p-t-1")
    argv = sup._argv(slot, 8080)
    assert argv[1:5] == ["-m", "runner", "agent", "serve"]
    # the definition goes in the server's environment (not its argv: `ps` shows none of it)
    monkeypatch.setenv("RUNNER_AGENT_DEFINITION", sup._definition(slot))
    assert _serve_definition(argv[5:]) == dataclasses.replace(IN_POD, workdir=FULL.workdir)  # a local server
    assert "sk-test" not in sup._definition(slot) and "MY_ANTHROPIC_KEY" not in " ".join(argv)


def test_agent_serve_definition_option(tmp_path):
    text = json.dumps(agentdef_to_data(FULL))
    assert _serve_definition(["--definition", text, "--id", "a1"]) == FULL
    (tmp_path / "d.json").write_text(text)
    assert _serve_definition(["--definition", f"@{tmp_path / 'd.json'}", "--id", "a1"]) == FULL


def test_agent_serve_flags_are_the_same_keys():
    flags = _serve_definition(["--id", "a1", "--type", "claude", "--mode", "long-lived", "--input", "argument",
                               "--ready-pattern", "^> $", "--workdir", "/srv", "--capability", "review",
                               "--pass-env", "KEY", "--", "prog", "two words"])
    assert flags == AgentDef(type="claude", mode="long-lived", input="argument", ready_pattern="^> $",
                             workdir="/srv", capabilities=("review",), credentials={"KEY": "KEY"},
                             command=("prog", "two words"))
    assert _serve_definition(["--id", "a1"]) == AgentDef()
    # the options override the definition's keys
    over = _serve_definition(["--id", "a1", "--definition", json.dumps(agentdef_to_data(FULL)),
                              "--mode", "per-task", "--command", "other prog", "--pass-env", "EXTRA"])
    assert over == dataclasses.replace(FULL, mode="per-task", command=("other", "prog"),
                                       credentials={**FULL.credentials, "EXTRA": "EXTRA"})


# ---------------------------------------------------------------- bad data


def _errors(data, **kw) -> list[str]:
    with pytest.raises(SpecError) as info:
        agentdef_from_data(data, **kw)
    return [d.render() for d in info.value.diagnostics]


def test_unknown_keys_are_named_by_their_path():
    assert _errors({"comand": ["x"], "resources": {"cpuu": 1}}, source="RUNNER_AGENT_DEFINITION",
                   path="$.definition") == [
        "RUNNER_AGENT_DEFINITION: $.definition.comand: unknown key `comand` (did you mean `command`?)",
        "RUNNER_AGENT_DEFINITION: $.definition.resources.cpuu: unknown key `cpuu` (did you mean `cpu`?)",
    ]


def test_bad_values():
    assert _errors({"resources": {"memory": "12 parsecs"}, "mode": "sometimes", "credentials": {"K": "sk-1"},
                    "command": "unclosed 'quote"}) == [
        '<data>: $.mode: expected one of: per-task, long-lived, got string "sometimes"',
        "<data>: $.resources.memory: expected a memory size such as 512Mi, 1Gi, 100M or a number of bytes, "
        'got string "12 parsecs"',
    ]
    # checks the schema leaves to semantics; the secret-looking value is never echoed
    got = _errors({"credentials": {"K": "sk-1"}, "command": "unclosed 'quote"})
    assert got == ["<data>: $.credentials.K: expected {env: NAME} (the variable holding the secret), got a string",
                   "<data>: $.command: cannot split the command into words: No closing quotation"]
    assert _errors(["x"]) == ["<data>: $: expected a mapping, got a list"]


def test_bad_definitions_in_transports(caplog):
    with pytest.raises(SpecError, match=r"RUNNER_AGENT_DEFINITION:1:2: \$: invalid JSON"):
        definition_from_json("{,")
    raw = json.dumps({"id": "a1", "endpoint": "http://h:1", "definition": {"mode": 3}}).encode()
    with caplog.at_level(logging.WARNING):
        agent = agent_from_record("/p/a1", raw)
    assert agent is not None and agent.definition is None  # the agent stays: it runs at its endpoint
    assert "/p/a1: $.definition.mode: expected one of" in caplog.text


def test_agent_serve_bad_definition_is_one_line_exit_2():
    proc = subprocess.run([sys.executable, "-m", "runner", "agent", "serve", "--id", "x", "--http", "127.0.0.1:0",
                           "--definition", '{"mode": "sometimes", "command": ["true"]}'],
                          cwd=REPO, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines()[0] == ('error: --definition: $.mode: expected one of: per-task, long-lived, '
                                           'got string "sometimes"')
    assert "Traceback" not in proc.stderr and proc.stdout == ""
