"""An agent that wants a login: the server keeps serving and says so in /health."""

from __future__ import annotations

import sys

import pytest
from protocol_helpers import HELPERS, poll, served

from runner.agents.lifecycle import AgentState
from runner.agents.model import TaskRequest
from runner.errors import AgentFailure, FailureKind, LoginRequired
from runner.spec.models import AgentDef

pytestmark = pytest.mark.pty


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_login_required_reaches_health_and_the_client(remote, protocol):
    definition = AgentDef(type="command", command=(sys.executable, str(HELPERS / "login.py")),
                          mode="long-lived", ready_pattern=r"^agent> ")
    with served(definition) as server:
        probe = remote(server.urls[protocol])
        reply = poll(lambda: (r := probe.health_reply())["loginRequired"] and r, what="loginRequired")
        assert reply["healthy"] is False
        assert "https://login.example.com/device?code=ABCD-1234" in reply["instruction"]
        handle = remote(server.urls[protocol])
        with pytest.raises(LoginRequired) as err:
            handle.start()
        assert "https://login.example.com/device?code=ABCD-1234" in err.value.instruction
        assert handle.state == AgentState.ERROR
        with pytest.raises(AgentFailure) as refused:  # the server takes no task meanwhile
            probe.lifecycle.to(AgentState.STARTING)
            probe.lifecycle.to(AgentState.READY)
            probe.execute(TaskRequest(task_id="t", description="x", timeout=5))
        assert refused.value.kind == FailureKind.INFRASTRUCTURE
        assert "requires login" in str(refused.value)
