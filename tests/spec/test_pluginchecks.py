"""What a pool says to its plug-ins is checked against what they declare, at validate time."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from runner.errors import ConfigurationError
from runner.spec import parse_pool
from tests.helpers.contract import ROOT, pool_errors


def test_runtime_settings_under_options_reach_the_runtime():
    from runner.context import RunContext
    from runner.runtimes.local import LocalRuntime

    pool = parse_pool("name: p\nruntimes:\n  - type: local\n    options: {maxParallel: 2, grace: 0.5}\n")
    runtime = LocalRuntime(RunContext(environ={}), pool.runtimes[0].options)
    assert (runtime.option("max_parallel", 64), runtime.option("grace", 3.0)) == (2, 0.5)


def test_the_typos_a_new_user_made_are_errors_with_their_lines():
    errors = pool_errors(textwrap.dedent("""\
        name: p
        registries:
          - type: etcd
            endpoint: http://127.0.0.1:2379
        runtimes:
          - type: kubernetes
            namespce: agents
          - type: docker
            options:
              startTimeout: 5
              protocol: soap
        """))
    assert errors == [
        "p.yaml:4:5: $.registries[0].endpoint: unknown key `endpoint` (did you mean `endpoints`?)",
        "p.yaml:7:5: $.runtimes[0].namespce: unknown key `namespce` (did you mean `namespace`?)",
        "p.yaml:10:7: $.runtimes[1].options.startTimeout: unknown key `startTimeout` (did you mean `start_timeout`?)",
        'p.yaml:11:17: $.runtimes[1].options.protocol: expected one of: http, grpc, got string "soap"',
    ]


def test_a_key_in_both_forms_is_an_error():
    assert pool_errors("name: p\nruntimes:\n  - type: local\n    grace: 1\n    options: {grace: 2}\n") == [
        "p.yaml:5:15: $.runtimes[0].options.grace: `grace` is also given at the entry's top level: give it once"]


def test_agent_options_are_those_of_its_type_and_of_the_runtimes_that_may_start_it():
    pool = ("name: p\nruntimes: [{type: local}, {type: docker}]\nagents:\n"
            "  - {id: a, command: [cat], options: {output: json, writable: true, start_timeout: 5}}\n"
            "  - {id: b, command: [cat], runtime: local, options: {writable: true}}\n"
            "  - {id: c, type: claude, options: {approval: yolo}}\n")
    errors = pool_errors(pool)
    assert [e.split(" (")[0] for e in errors] == [
        "p.yaml:5:55: $.agents[1].options.writable: unknown key `writable`",
        "p.yaml:6:47: $.agents[2].options.approval: expected one of: readonly, standard, permissive, autonomous, "
        'got string "yolo"',
    ]


def test_bad_options_given_in_code_are_a_configuration_error():
    from runner.context import RunContext
    from runner.runtimes.local import LocalRuntime

    with pytest.raises(ConfigurationError, match=r"local runtime: unknown key `grase` \(did you mean `grace`\?\)"):
        LocalRuntime(RunContext(environ={}), {"grase": 1})


BLOCK = "import sys; sys.modules.update({m: None for m in sys.argv[1].split(',')}); del sys.argv[1]; "


def runner_without(modules: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``runner ARGS`` in a fresh interpreter where ``modules`` cannot be imported (as if not installed)."""
    code = BLOCK + "sys.argv[0] = 'runner'; from runner.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, modules, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def test_a_missing_extra_is_reported_by_validate_with_exit_2(tmp_path):
    pool = tmp_path / "pool.yaml"
    pool.write_text("name: p\nregistries: [{type: etcd}]\nruntimes:\n  - {type: kubernetes}\n"
                    "  - {type: docker, protocol: grpc}\nagents: [{id: a, endpoint: 'grpc://h:1'}]\n")
    done = runner_without("python_on_whales,kubernetes,etcd3gw,grpc", "validate", str(pool))
    assert done.returncode == 2, done.stderr
    assert done.stdout.splitlines()[:5] == [
        f"{pool}:2:21: $.registries[0].type: registry `etcd` needs the Python package `etcd3gw`: "
        "pip install 'runner[etcd]'",
        f"{pool}:4:12: $.runtimes[0].type: runtime `kubernetes` needs the Python package `kubernetes`: "
        "pip install 'runner[kubernetes]'",
        f"{pool}:5:12: $.runtimes[1].type: runtime `docker` needs the Python package `python_on_whales`: "
        "pip install 'runner[docker]'",
        f"{pool}:5:12: $.runtimes[1].type: runtime `docker` needs the Python package `grpc`: "
        "pip install 'runner[grpc]'",
        f"{pool}:6:28: $.agents[0].endpoint: a gRPC endpoint needs the Python package `grpc`: "
        "pip install 'runner[grpc]'",
    ]
    assert "Traceback" not in done.stderr


def test_a_missing_docker_extra_at_run_time_is_a_configuration_error_too():
    code = BLOCK + "from runner.docker.client import whales; whales('docker')"
    done = subprocess.run([sys.executable, "-c", code, "python_on_whales"], capture_output=True, text=True, cwd=ROOT)
    assert "ConfigurationError: runtime `docker` needs the Python package `python_on_whales`" in done.stderr


def test_validating_a_pool_imports_no_backend():
    code = textwrap.dedent("""\
        import sys
        from runner.spec import parse_pool
        parse_pool('''name: p
        registries: [{type: etcd, endpoints: [http://h:2379]}, {type: env}]
        runtimes: [{type: docker, protocol: grpc}, {type: kubernetes, namespace: n}, {type: local}]
        agents: [{id: a, type: claude, options: {model: m, image: i}}, {id: b, endpoint: 'grpc://h:1'}]
        ''')
        print(sorted({m.split('.')[0] for m in sys.modules} & {'python_on_whales', 'kubernetes', 'etcd3gw', 'grpc'}))
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_a_key_that_needs_another_is_reported_at_its_own_line():
    assert pool_errors("name: p\nregistries:\n  - type: etcd\n    passwordEnv: P\n    tls: {ca: a, cert: c}\n") == [
        "p.yaml:4:5: $.registries[0].passwordEnv: `passwordEnv` needs `username` (or `usernameEnv`) too",
        "p.yaml:5:18: $.registries[0].tls.cert: `cert` and `key` go together",
    ]
