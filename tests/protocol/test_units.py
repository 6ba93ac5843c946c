"""Pure pieces: auth config from a pool, endpoint handling, the wire shapes."""

from __future__ import annotations

import pytest

from runner.agents.lifecycle import AgentState
from runner.agents.model import AgentInfo, TaskRequest, TaskResult
from runner.context import EventBus
from runner.errors import AgentFailure, ConfigurationError, FailureKind
from runner.protocol import wire
from runner.protocol.auth import AuthConfig, authorized
from runner.protocol.connect import connect, display_endpoint


def test_auth_from_env_and_file(tmp_path):
    (tmp_path / "tok").write_text(" t0k \n")
    assert AuthConfig.from_pool({"tokenEnv": "T"}, {"T": "abc"}).token == "abc"
    auth = AuthConfig.from_pool({"tokenFile": "tok", "caFile": "ca.pem"}, {}, tmp_path)
    assert (auth.token, auth.ca_file) == ("t0k", str(tmp_path / "ca.pem"))
    assert "t0k" not in repr(auth)
    assert AuthConfig.from_pool({}, {}) is None


@pytest.mark.parametrize(("auth", "message"), [
    ({"tokenEnv": "NOPE"}, "pool auth: environment variable NOPE (tokenEnv) is not set"),
    ({"tokenFile": "/nonexistent/tok"}, "pool auth tokenFile /nonexistent/tok: cannot read it"),
])
def test_auth_errors_are_configuration_errors(auth, message):
    with pytest.raises(ConfigurationError) as err:
        AuthConfig.from_pool(auth, {})
    assert str(err.value).startswith(message)


def test_authorized_compares_bearer_tokens():
    assert authorized(None, None)
    assert authorized("a", "Bearer a")
    assert not authorized("a", "Bearer b")
    assert not authorized("a", "a")
    assert not authorized("a", None)


def test_connect_picks_by_scheme_and_starts_discovered():
    for endpoint, cls in [("http://h:1", "HttpHandle"), ("https://h:1", "HttpHandle"),
                          ("grpc://h:1", "GrpcHandle"), ("grpcs://h:1", "GrpcHandle")]:
        handle = connect(AgentInfo(id="a", name="a", type="command", endpoint=endpoint), EventBus())
        assert type(handle).__name__ == cls
        assert handle.state == AgentState.DISCOVERED
        handle.stop()
    with pytest.raises(ConfigurationError, match="endpoint scheme `ftp` is not supported"):
        connect(AgentInfo(id="a", name="a", type="command", endpoint="ftp://h"), EventBus())


def test_display_endpoint_hides_credentials():
    assert display_endpoint("http://user:pw@host:81/x") == "http://host:81/x"
    assert display_endpoint("grpc://host:9") == "grpc://host:9"


def test_wire_round_trip_and_errors():
    req = TaskRequest(task_id="t", description="d", data={"a": 1}, timeout=2.5)
    assert wire.request_from_json(wire.request_to_json(req)) == req
    with pytest.raises(wire.Malformed, match="field `taskId` has type int"):
        wire.request_from_json({"taskId": 1, "description": "d"})
    with pytest.raises(wire.Malformed, match="field `confidence` has type bool"):
        wire.result_from_json({"taskId": "t", "result": 1, "confidence": True})
    res = TaskResult(task_id="t", result=1, usage={"input_tokens": 3, "cost_usd": 0.5})
    assert wire.result_from_json(wire.result_to_json(res)) == res
    assert "usage" not in wire.result_to_json(TaskResult(task_id="t", result=1))  # an older peer sees no change
    with pytest.raises(wire.Malformed, match="usage.tokens"):
        wire.result_from_json({"taskId": "t", "result": 1, "usage": {"tokens": 3}})
    assert wire.error_from_json({"error": {"kind": "timeout", "message": "m"}}) == (FailureKind.TIMEOUT, "m")
    assert wire.error_from_json({"error": {"kind": "weird", "message": "m"}}) == (FailureKind.TASK, "m")
    assert wire.error_from_json({"result": 1}) is None


def test_wire_workspace_is_optional():
    req = TaskRequest(task_id="t", description="d", workspace="/workspace/s/a-1")
    assert wire.request_to_json(req)["workspace"] == "/workspace/s/a-1"
    assert wire.request_from_json(wire.request_to_json(req)) == req
    assert "workspace" not in wire.request_to_json(TaskRequest(task_id="t", description="d"))  # older peers
    with pytest.raises(wire.Malformed, match="field `workspace` has type int"):
        wire.request_from_json({"taskId": "t", "description": "d", "workspace": 3})


def test_server_takes_workspaces_only_under_its_root(tmp_path):
    from runner.protocol.serve import ServeOptions, build_handle
    from runner.protocol.service import AgentService
    from runner.spec.models import AgentDef

    root, inside, outside = tmp_path / "root", tmp_path / "root" / "s" / "a-1", tmp_path / "elsewhere"
    inside.mkdir(parents=True)
    outside.mkdir()
    definition = AgentDef(type="command", command=("sh", "-c", "pwd"))
    handle = build_handle(ServeOptions(definition=definition, agent_id="w"))
    for workspaces in (str(root), None):
        service = AgentService(handle, workspaces=workspaces)
        service.start_agent()
        for path, why in ((str(outside), "is not under"), (str(root / "s" / ".." / ".." / "elsewhere"), "is not under"),
                          (str(root / "missing"), "is not a directory")):
            with pytest.raises(AgentFailure) as err:
                service.execute(TaskRequest(task_id="t", description="d", workspace=path))
            assert err.value.kind is FailureKind.CONFIG
            assert (why if workspaces else "takes no workspaces") in str(err.value)
        if workspaces:
            done = service.execute(TaskRequest(task_id="t", description="d", workspace=str(inside)))
            assert str(inside) in str(done.result)
    handle.stop()
