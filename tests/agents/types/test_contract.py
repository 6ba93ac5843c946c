"""The agent-type contract, run against every type of ``AGENT_TYPES``."""

from __future__ import annotations

import pytest

from runner.agents.types import AGENT_TYPES
from runner.agents.types.base import AgentType, TypeCapabilities
from runner.context import RunContext
from runner.plugins import load, suggest
from runner.spec.models import AgentDef
from tests.helpers.contract import assert_closed_schema, imported_backends, pip_extras, pool_errors


@pytest.fixture(params=sorted(AGENT_TYPES))
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class TestAgentTypeContract:
    def test_loadable_by_name(self, name: str) -> None:
        cls = load("agent type", AGENT_TYPES, name)
        assert issubclass(cls, AgentType) and cls.name == name

    def test_capabilities_are_the_dataclass(self, name: str) -> None:
        caps = load("agent type", AGENT_TYPES, name).capabilities
        assert isinstance(caps, TypeCapabilities) and (caps.per_task or caps.long_lived) and caps.concurrency >= 1

    def test_options_are_a_closed_json_schema(self, name: str) -> None:
        assert_closed_schema(load("agent type", AGENT_TYPES, name).options_schema)

    def test_loading_imports_no_backend(self, name: str) -> None:
        assert imported_backends("agent type", "runner.agents.types.AGENT_TYPES", name) == []

    def test_extras_are_pip_extras(self, name: str) -> None:
        assert set(load("agent type", AGENT_TYPES, name).extras) <= pip_extras()

    def test_hooks_have_their_declared_types(self, name: str, tmp_path) -> None:
        agent_type = load("agent type", AGENT_TYPES, name)()
        d = AgentDef(type=name, command=("cat",))
        assert isinstance(agent_type.approve_prompts(d), bool)
        for limit in (agent_type.task_timeout(d), agent_type.stall_timeout(d)):
            assert limit is None or limit > 0
        detector = agent_type.screen_detector(d)
        assert detector is None or hasattr(detector, "classify")
        assert agent_type.cleanup(d, RunContext(state_dir=tmp_path, environ={}), "a1") is None

    def test_validate_reports_an_unknown_option_with_its_line(self, name: str) -> None:
        hint = suggest("no_such_option", list(load("agent type", AGENT_TYPES, name).options_schema["properties"])
                       + ["startTimeout", "start_timeout"])  # + the local runtime's agent options
        assert pool_errors(f"name: p\nagents:\n  - id: a\n    type: {name}\n    command: [cat]\n"
                           "    options:\n      no_such_option: 1\n") == [
            f"p.yaml:7:7: $.agents[0].options.no_such_option: unknown key `no_such_option` ({hint})"]
