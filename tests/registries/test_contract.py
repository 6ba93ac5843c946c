"""The registry contract, run against every registry of ``REGISTRIES``."""

from __future__ import annotations

import pytest

from runner.context import RunContext
from runner.plugins import load, suggest
from runner.registries import REGISTRIES
from runner.registries.base import Registry, RegistryCapabilities
from runner.spec.models import Pool
from tests.helpers.contract import assert_closed_schema, imported_backends, pip_extras, pool_errors


@pytest.fixture(params=sorted(REGISTRIES))
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class TestRegistryContract:
    def test_loadable_by_name(self, name: str) -> None:
        cls = load("registry", REGISTRIES, name)
        assert issubclass(cls, Registry) and cls.name == name

    def test_capabilities_are_the_dataclass(self, name: str) -> None:
        assert isinstance(load("registry", REGISTRIES, name).capabilities, RegistryCapabilities)

    def test_options_are_a_closed_json_schema(self, name: str) -> None:
        assert_closed_schema(load("registry", REGISTRIES, name).options_schema)

    def test_loading_imports_no_backend(self, name: str) -> None:
        assert imported_backends("registry", "runner.registries.REGISTRIES", name) == []

    def test_extras_are_pip_extras(self, name: str) -> None:
        assert set(load("registry", REGISTRIES, name).needs({})) <= pip_extras()

    def test_validate_reports_an_unknown_key_in_either_form(self, name: str) -> None:
        hint = suggest("no_such_option", list(load("registry", REGISTRIES, name).options_schema["properties"]))
        assert pool_errors(f"name: p\nregistries:\n  - type: {name}\n    no_such_option: 1\n") == [
            f"p.yaml:4:5: $.registries[0].no_such_option: unknown key `no_such_option` ({hint})"]
        assert pool_errors(f"name: p\nregistries:\n  - type: {name}\n    options: {{no_such_option: 1}}\n") == [
            f"p.yaml:4:15: $.registries[0].options.no_such_option: unknown key `no_such_option` ({hint})"]

    @pytest.mark.parametrize("empty", [pytest.param(n, marks=pytest.mark.etcd) if n == "etcd" else n
                                       for n in sorted(REGISTRIES)])
    def test_nothing_registered_lists_no_agent(self, empty: str, request: pytest.FixtureRequest, tmp_path) -> None:
        options = {}
        if empty == "etcd":  # a real etcd, a prefix nobody wrote under
            server, prefix = request.getfixturevalue("etcd_server"), request.getfixturevalue("prefix")
            options = {"endpoints": [server.url], "prefix": prefix}
        variable = "RUNNER_TEST_NO_AGENTS"
        if empty == "env":
            options = {"variable": variable}
        registry = load("registry", REGISTRIES, empty)(RunContext(state_dir=tmp_path, environ={}), Pool(name="p"),
                                                       options)
        try:
            if empty != "direct":  # registrations from Python are process-wide: other tests may have some
                assert registry.agents() == [] and registry.all_agents() == []
            assert isinstance(registry.all_agents(), list)
        finally:
            registry.close()

    def test_bad_options_in_code_are_a_configuration_error(self, name: str) -> None:
        from runner.errors import ConfigurationError

        with pytest.raises(ConfigurationError, match="unknown key `no_such_option`"):
            load("registry", REGISTRIES, name)(RunContext(environ={}), Pool(name="p"), {"no_such_option": 1})
