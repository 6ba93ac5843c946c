"""Every manifest the kubernetes runtime builds, validated offline by kubernetes-validate (strict:
misspelt or misplaced fields fail), plus the naming and labelling rules it does not check."""

from __future__ import annotations

import json
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from runner.agents.model import AgentInfo
from runner.runtimes.k8s_gc import owner_labels
from runner.runtimes.k8s_manifests import (
    label_value,
    labels,
    object_name,
    pod_manifest,
    probe_command,
    secret_manifest,
)
from runner.runtimes.k8s_options import parse_settings
from runner.spec.models import AgentDef, Resources

VERSION = kubernetes_validate.utils.latest_version()
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
RUN = "20261125-140512-3f9a1c"

SETTINGS = {
    "minimal": {},
    "full": {"namespace": "agents", "serviceAccount": "runner-agent", "nodeSelector": {"pool": "agents"},
             "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "agents", "effect": "NoSchedule"}],
             "imagePullPolicy": "Never", "imagePrefix": "registry.example.com/runner/", "imageTag": "0.1.0",
             "secretName": "agent-keys", "port": 9000, "gracePeriod": 30},
}
AGENTS = {
    "command": AgentInfo(id="a1", name="a1", type="command",
                         definition=AgentDef(type="command", command=("python3", "agent.py"))),
    "claude-limited": AgentInfo(
        id="Claude_Reviewer.1", name="reviewer", type="claude", capabilities=("review",),
        definition=AgentDef(type="claude", mode="long-lived", ready_pattern=r"^> ", env={"LANG": "C.UTF-8"},
                            credentials={"ANTHROPIC_API_KEY": "MY_ANTHROPIC_KEY"}, capabilities=("review",),
                            resources=Resources(cpu=1.5, memory=2 * 1024**3, timeout=900.5))),
}


def validate(manifest: dict) -> None:
    kubernetes_validate.validate(manifest, VERSION, strict=True)


@pytest.mark.parametrize("settings", SETTINGS)
@pytest.mark.parametrize("agent", AGENTS)
def test_pod_and_secret_validate_strictly(settings, agent):
    s = parse_settings(SETTINGS[settings], {})
    info = AGENTS[agent]
    owner = owner_labels()
    pod = pod_manifest(s, RUN, info, owner)
    validate(pod)
    validate(secret_manifest(s, RUN, info, {"RUNNER_AGENT_TOKEN": "t", "ANTHROPIC_API_KEY": "k"}, owner))
    assert set(owner) <= set(pod["metadata"]["labels"])
    assert DNS_LABEL.match(pod["metadata"]["name"]) and len(pod["metadata"]["name"]) <= 63
    assert all(LABEL_VALUE.match(v) and len(v) <= 63 for v in pod["metadata"]["labels"].values())


def test_strict_validation_can_fail():
    pod = pod_manifest(parse_settings({}, {}), RUN, AGENTS["command"])
    pod["spec"]["containers"][0]["imagePullPolicyy"] = "Never"
    with pytest.raises(kubernetes_validate.ValidationError, match="imagePullPolicyy"):
        validate(pod)


def test_pod_content_follows_the_definition_and_the_pool():
    s = parse_settings(SETTINGS["full"], {})
    pod = pod_manifest(s, RUN, AGENTS["claude-limited"])
    spec, c = pod["spec"], pod["spec"]["containers"][0]
    assert c["image"] == "registry.example.com/runner/agent-claude:0.1.0"
    assert c["command"] == ["runner", "agent", "serve"]
    # the whole definition (runner.spec.agentdef), credentials by their names in the pod
    assert c["args"][0] == "--definition"
    assert c["args"][2:] == ["--id", "Claude_Reviewer.1", "--name", "reviewer", "--http", "0.0.0.0:9000"]
    assert json.loads(c["args"][1]) == {
        "type": "claude", "mode": "long-lived", "readyPattern": "^> ", "env": {"LANG": "C.UTF-8"},
        "credentials": {"ANTHROPIC_API_KEY": {"env": "ANTHROPIC_API_KEY"}}, "capabilities": ["review"],
        "resources": {"cpu": 1.5, "memory": 2 * 1024**3, "timeout": 900.5}}
    assert c["resources"] == {"requests": {"cpu": "1500m", "memory": str(2 * 1024**3)},
                              "limits": {"cpu": "1500m", "memory": str(2 * 1024**3)}}
    assert spec["activeDeadlineSeconds"] == 901
    assert spec["serviceAccountName"] == "runner-agent" and spec["nodeSelector"] == {"pool": "agents"}
    assert spec["tolerations"][0]["key"] == "dedicated" and c["imagePullPolicy"] == "Never"
    assert spec["terminationGracePeriodSeconds"] == 30 and spec["restartPolicy"] == "Never"
    env = {e["name"]: e for e in c["env"]}
    assert env["ANTHROPIC_API_KEY"]["valueFrom"]["secretKeyRef"] == {"name": "agent-keys", "key": "ANTHROPIC_API_KEY"}
    assert env["RUNNER_AGENT_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == pod["metadata"]["name"]
    assert env["LANG"] == {"name": "LANG", "value": "C.UTF-8"}
    assert c["readinessProbe"]["exec"]["command"] == probe_command(9000)
    assert "127.0.0.1:9000/health" in probe_command(9000)[2]
    assert pod["metadata"]["labels"] == {"runner.managed": "true", "runner.run-id": RUN,
                                         "runner.agent-id": label_value("Claude_Reviewer.1"),
                                         "runner.agent-type": "claude"}
    minimal = pod_manifest(parse_settings({}, {}), RUN, AGENTS["command"])
    assert minimal["spec"]["containers"][0]["image"] == "runner/agent-base:latest"
    assert minimal["spec"]["automountServiceAccountToken"] is False
    assert "activeDeadlineSeconds" not in minimal["spec"] and "resources" not in minimal["spec"]["containers"][0]
    assert json.loads(minimal["spec"]["containers"][0]["args"][1]) == {"command": ["python3", "agent.py"]}


@pytest.mark.parametrize("agent_id", ["a1", "Agent_One", "x" * 80, "agent/with spaces", "_lead.", "日本"])
def test_names_and_label_values_are_valid_and_distinct(agent_id):
    name = object_name(RUN, agent_id)
    assert DNS_LABEL.match(name) and len(name) <= 63
    value = label_value(agent_id)
    assert LABEL_VALUE.match(value) and len(value) <= 63
    assert object_name(RUN, agent_id) != object_name(RUN, agent_id + "x")
    info = AgentInfo(id=agent_id, name=agent_id, type="command", definition=AgentDef(command=("true",)))
    assert labels(RUN, info)["runner.agent-id"] == value


def test_deploy_assets_validate_strictly():
    docs = [d for f in sorted(DEPLOY.glob("*.yaml")) if f.name != "pool.yaml"
            for d in yaml.safe_load_all(f.read_text()) if d]
    assert {d["kind"] for d in docs} >= {"Namespace", "ServiceAccount", "Role", "RoleBinding"}
    for doc in docs:
        validate(doc)
    role = next(d for d in docs if d["kind"] == "Role")
    rules = {(r["resources"][0], tuple(r["verbs"])) for r in role["rules"]}
    assert rules == {("pods", ("create", "get", "list", "watch", "delete")), ("pods/portforward", ("create",)),
                     ("secrets", ("create", "get", "list", "delete")), ("events", ("list",))}


def test_example_pool_is_valid_and_its_options_parse():
    from runner.spec.pool import load_pool

    pool = load_pool(DEPLOY / "pool.yaml")
    (rt,) = pool.runtimes
    assert rt.type == "kubernetes"
    settings = parse_settings(rt.options, {})
    assert settings.access == "port-forward" and settings.namespace == "runner"
    for t in pool.templates:
        info = AgentInfo(id=t.name, name=t.name, type=t.definition.type, definition=t.definition)
        validate(pod_manifest(settings, RUN, info))
