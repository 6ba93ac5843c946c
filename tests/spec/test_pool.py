from pathlib import Path

from runner.plugins import suggest
from runner.registries import REGISTRIES
from runner.spec import check_pair, load_pattern, load_pool, parse_pattern, parse_pool
from runner.spec.models import Pool, RegistryConfig

DATA = Path(__file__).parent / "data"


def test_valid_example_builds_the_model():
    pool = load_pool(DATA / "valid" / "local-pool.yaml")
    assert pool.name == "local" and pool.health_interval == 15.0 and pool.auto_restart is False
    ruff, pytest_ = pool.agents
    assert (ruff.id, ruff.name, ruff.endpoint) == ("ruff", "Ruff checker", None)
    d = ruff.definition
    assert d.type == "command" and d.command == ("ruff", "check", ".") and d.mode == "per-task"
    assert d.expertise == {"python": 0.9} and d.confidence == 0.8 and d.runtime == "local"
    assert (d.resources.cpu, d.resources.memory, d.resources.timeout, d.resources.idle_timeout) == (
        0.5, 512 * 1024**2, 600.0, 300.0)
    assert pytest_.name == "pytest" and pytest_.definition.command == ("python", "-m", "pytest", "-q")
    assert pytest_.definition.input == "argument" and pytest_.definition.expertise == {"*": 0.7}
    assert pytest_.definition.env == {"PYTHONDONTWRITEBYTECODE": "1", "CI": "true"}
    (reviewer,) = pool.templates
    assert reviewer.name == "reviewer" and reviewer.max_instances == 5
    assert reviewer.definition.credentials == {"ANTHROPIC_API_KEY": "MY_ANTHROPIC_KEY"}
    assert pool.registries == (RegistryConfig(type="static"),)
    assert pool.runtimes[0].type == "local" and pool.runtimes[0].max_agents == 20
    assert pool.warm_pool == {"reviewer": 2} and pool.auth == {"tokenEnv": "RUNNER_TOKEN"}
    assert pool.marks["$.agents[1].id"] == (12, 5)


def test_pool_defaults():
    pool = parse_pool("name: p\nagents:\n  - {id: a, command: [echo]}\n", "p.yaml")
    assert pool.runtimes[0].type == "local" and pool.runtimes[0].priority == 0
    assert pool.registries == () and pool.templates == () and pool.health_interval == 30.0
    assert pool.agents[0].definition.input == "stdin" and pool.agents[0].definition.resources.cpu is None


def test_registry_and_runtime_options_at_the_top_level_or_nested():
    # the plug-in's own keys, in either documented form, become its options (unknown keys are
    # errors: tests/spec/test_pluginchecks.py)
    for runtime in ("{type: local, priority: 2, maxAgents: 3, grace: 1}",
                    "{type: local, priority: 2, maxAgents: 3, options: {grace: 1}}"):
        pool = parse_pool("kind: pool\nname: p\nregistries: [{type: env, variable: MY_AGENTS}]\n"
                          f"runtimes: [{runtime}]\n", "p.yaml")
        assert pool.registries[0].options == {"variable": "MY_AGENTS"}
        assert (pool.runtimes[0].priority, pool.runtimes[0].max_agents, pool.runtimes[0].options) == (
            2, 3, {"grace": 1})


EXPECTED = [
    "f.yaml:5:11: $.agents[0].type: unknown agent type `comand` (did you mean `command`?)",
    "f.yaml:6:14: $.agents[0].runtime: unknown runtime `lokal` (did you mean `local`?)",
    "f.yaml:8:19: $.agents[0].credentials.KEY: never put a secret in a pool file: use {env: NAME}",
    "f.yaml:8:55: $.agents[0].credentials.THIRD: missing required key `env`",
    "f.yaml:8:63: $.agents[0].credentials.THIRD.name: unknown key `name` (expected one of: `env`)",
    "f.yaml:9:11: $.agents[0].env.OPENAI_API_KEY: `OPENAI_API_KEY` looks like a secret: move it to `credentials` as {env: NAME}",
    "f.yaml:10:19: $.agents[0].readyPattern: invalid regular expression: missing ), unterminated subpattern at position 1",
    "f.yaml:11:25: $.agents[0].resources.memory: expected a memory size such as 512Mi, 1Gi, 100M or a number of bytes, got string \"1XB\"",
    "f.yaml:11:35: $.agents[0].resources.cpu: must be greater than 0, got integer 0",
    "f.yaml:12:15: $.agents[0].endpoint: expected a URL starting with http://, https://, grpc:// or grpcs://, got string \"ftp://x\"",
    "f.yaml:13:16: $.agents[0].expertise: must be at most 1, got integer 2",
    "f.yaml:14:9: $.agents[1].id: duplicate agent id `a` (first at line 4)",
    "f.yaml:15:14: $.agents[1].command: cannot split the command into words: No closing quotation",
    "f.yaml:16:5: $.agents[2]: missing required key `id`",
    "f.yaml:16:5: $.agents[2]: an agent of type `command` needs `command` or `endpoint`",
    "f.yaml:19:5: $.agents[3].mode: a long-lived `command` agent needs `readyPattern` (its prompt, as a regex)",
    "f.yaml:22:5: $.templates[0].idd: unknown key `idd` (expected one of: `capabilities`, `command`, `confidence`, `credentials`, `donePattern`, `env`, `expertise`, `input`, `loginPattern`, `maxInstances`, `metadata`, `mode`, `name`, `options`, `readyPattern`, `resources`, `runtime`, `type`, `workdir`)",
    "f.yaml:23:14: $.templates[0].command: must not be empty",
    # other plug-ins may join REGISTRIES: the hint is whatever `suggest` says about them
    f"f.yaml:24:21: $.registries[0].type: unknown registry `zookeepr` ({suggest('zookeepr', REGISTRIES)})",
    "f.yaml:24:32: $.registries[1]: missing required key `type`",
    "f.yaml:25:37: $.runtimes[0].maxAgents: must be at least 1, got integer 0",
    "f.yaml:26:12: $.warmPool.tt: unknown template `tt` (did you mean `t`?)",
    "f.yaml:27:7: $.auth: give only one of: tokenEnv, tokenFile",
]


def test_pool_problems(problems):
    assert problems("""
        kind: pool
        name: p
        agents:
          - id: a
            type: comand
            runtime: lokal
            command: [x]
            credentials: {KEY: sk-not-shown, OTHER: {env: X}, THIRD: {name: Y}}
            env: {OPENAI_API_KEY: abc, PLAIN: 1}
            readyPattern: "(("
            resources: {memory: 1XB, cpu: 0}
            endpoint: ftp://x
            expertise: 2
          - id: a
            command: "echo 'unterminated"
          - name: x
          - id: long
            command: [sh]
            mode: long-lived
        templates:
          - name: t
            idd: t
            command: []
        registries: [{type: zookeepr}, {nope: 1}]
        runtimes: [{type: local, maxAgents: 0}]
        warmPool: {tt: 1}
        auth: {tokenEnv: A, tokenFile: B}
        """) == EXPECTED


def test_check_pair_names_the_missing_capabilities():
    pool = load_pool(DATA / "valid" / "local-pool.yaml")
    pattern = parse_pattern("""
name: pair
steps:
  - id: fine
    agents: {capabilities: [python-lint]}
    task: a
  - id: missing
    agents: {capabilities: [go-lint, python-lint, rust-lint]}
    task: b
  - id: split
    agents: {capabilities: [python-lint, python-test]}
    task: c
  - id: many
    agents: {capabilities: [code-review], min: 6}
    task: d
""", "pair.yaml")
    assert [d.render() for d in check_pair(pattern, pool)] == [
        "pair.yaml:8:14: $.steps[1].agents.capabilities: no agent or template of pool `local` has "
        "`go-lint`, `rust-lint`",
        "pair.yaml:11:14: $.steps[2].agents.capabilities: no single agent or template of pool `local` has "
        "all of `python-lint`, `python-test`",
        "pair.yaml:14:43: $.steps[3].agents.min: step `many` needs 6 agents, pool `local` can provide 5",
    ]
    assert check_pair(load_pattern(DATA / "valid" / "quality-gate.yaml"), pool) == []


def test_check_pair_is_skipped_for_dynamic_registries():
    pattern = parse_pattern("name: x\nsteps: [{id: a, task: t, agents: {capabilities: [nothing]}}]\n", "x.yaml")
    empty = Pool(name="empty")
    assert [d.message for d in check_pair(pattern, empty)] == ["pool `empty` has no agents or templates to run step `a`"]
    for kind in ("etcd", "env"):
        assert check_pair(pattern, Pool(name="dyn", registries=(RegistryConfig(type=kind),))) == []


def test_pool_numbers_are_bounded(problems):
    assert problems("""
        name: p
        healthInterval: 721h
        warmPool: {t: 1001}
        runtimes: [{type: local, maxAgents: 1001}]
        templates:
          - {name: t, command: [echo], maxInstances: 1001, resources: {cpu: 1025, memory: 17Ti, idleTimeout: 1.0e+9}}
        """) == [
        "f.yaml:2:17: $.healthInterval: `721h` is more than the maximum, 30 days (720h)",
        "f.yaml:3:15: $.warmPool.t: must be at most 1000, got integer 1001",
        "f.yaml:4:37: $.runtimes[0].maxAgents: must be at most 1000, got integer 1001",
        "f.yaml:6:46: $.templates[0].maxInstances: must be at most 1000, got integer 1001",
        "f.yaml:6:69: $.templates[0].resources.cpu: `1025` is more than the maximum, 1024 cores",
        "f.yaml:6:83: $.templates[0].resources.memory: `17Ti` is more than the maximum, 16Ti",
        "f.yaml:6:102: $.templates[0].resources.idleTimeout: `1e+09` is more than the maximum, 30 days (720h)",
    ]
