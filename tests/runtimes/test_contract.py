"""The runtime contract, run against every runtime of ``RUNTIMES`` (a new runtime is one module,
one line in the table, and passes these)."""

from __future__ import annotations

import pytest
from k8s_helpers import Emulator

from runner.plugins import load
from runner.runtimes import RUNTIMES
from runner.runtimes.base import GcRequest, GcResult, Runtime
from tests.helpers.contract import assert_closed_schema, imported_backends, pip_extras, pool_errors

NAMES = [pytest.param(n, marks=pytest.mark.docker) if n == "docker" else n for n in sorted(RUNTIMES)]


@pytest.fixture(params=sorted(RUNTIMES))
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class TestRuntimeContract:
    def test_loadable_by_name(self, name: str) -> None:
        cls = load("runtime", RUNTIMES, name)
        assert issubclass(cls, Runtime) and cls.name == name

    def test_options_are_closed_json_schemas(self, name: str) -> None:
        cls = load("runtime", RUNTIMES, name)
        assert_closed_schema(cls.options_schema)
        assert_closed_schema(cls.agent_options_schema)

    def test_loading_imports_no_backend(self, name: str) -> None:
        assert imported_backends("runtime", "runner.runtimes.RUNTIMES", name) == []

    def test_extras_are_pip_extras(self, name: str) -> None:
        cls = load("runtime", RUNTIMES, name)
        assert set(cls.needs({})) <= pip_extras() and all(isinstance(m, str) for m in cls.needs({}).values())

    def test_validate_reports_an_unknown_key_in_either_form(self, name: str) -> None:
        assert pool_errors(f"name: p\nruntimes:\n  - type: {name}\n    no_such_option: 1\n") == [
            "p.yaml:4:5: $.runtimes[0].no_such_option: unknown key `no_such_option` "
            f"({_hint(name)})"]
        assert pool_errors(f"name: p\nruntimes:\n  - type: {name}\n    options: {{no_such_option: 1}}\n") == [
            "p.yaml:4:15: $.runtimes[0].options.no_such_option: unknown key `no_such_option` "
            f"({_hint(name)})"]

    def test_validate_reports_an_unknown_agent_option(self, name: str) -> None:
        errors = pool_errors(f"name: p\nruntimes: [{{type: {name}}}]\n"
                             "agents:\n  - {id: a, command: [cat], options: {no_such_option: 1}}\n")
        assert [e.split(": unknown key")[0] for e in errors] == ["p.yaml:4:39: $.agents[0].options.no_such_option"]

    def test_can_run_reads_the_types_capabilities(self, name: str, monkeypatch) -> None:
        from runner.agents.model import AgentInfo
        from runner.agents.types.base import TypeCapabilities
        from runner.agents.types.command import CommandType
        from runner.context import RunContext
        from runner.spec.models import AgentDef

        runtime = load("runtime", RUNTIMES, name)(RunContext(environ={}), {})
        monkeypatch.setattr(CommandType, "capabilities", TypeCapabilities(per_task=True, long_lived=False))

        def info(mode: str) -> AgentInfo:
            d = AgentDef(type="command", command=("cat",), mode=mode, ready_pattern="> ")
            return AgentInfo(id="a", name="a", type="command", definition=d)

        assert runtime.can_run(info("per-task")) and not runtime.can_run(info("long-lived"))

    @pytest.mark.parametrize("gc_name", NAMES)
    def test_gc_of_nothing_is_a_no_op(self, gc_name: str, tmp_path) -> None:
        cls = load("runtime", RUNTIMES, gc_name)
        request = GcRequest(state_dir=tmp_path, run_id="no-such-run")
        assert cls.gc(None, request).leftovers == ()
        if gc_name == "kubernetes":  # against a cluster: the kmock emulator
            with Emulator(tmp_path) as emu:
                options = {"namespace": "runner", "kubeconfig": str(emu.kubeconfig)}
                assert cls.gc(options, request) == GcResult()
                assert cls.gc(options, GcRequest(state_dir=tmp_path, dry_run=True)) == GcResult()


def _hint(name: str) -> str:
    from runner.plugins import suggest

    return suggest("no_such_option", list(load("runtime", RUNTIMES, name).options_schema["properties"]))
