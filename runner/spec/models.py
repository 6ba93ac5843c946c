"""Frozen, typed views of pattern and pool files.

Only the loaders (``runner.spec.pattern`` / ``runner.spec.pool``) build these; raw dicts
never leave them. Defaults are applied by the loaders, so every field here has its final
value. Durations are seconds (float). ``Mapping`` fields hold plain JSON-like values.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.errors import FailureKind

# ---------------------------------------------------------------- pattern


@dataclass(frozen=True, kw_only=True)
class InputSpec:
    name: str
    type: str  # string | number | integer | boolean | array | object
    required: bool = False
    default: Any = None
    has_default: bool = False
    enum: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class AgentRequirement:
    capabilities: tuple[str, ...] = ()  # all required
    min: int = 1
    max: int | None = None  # None: as many as min (no more)
    prefer: tuple[str, ...] = ()  # agent ids, names or expertise tags, in order of preference
    min_confidence: float | None = None  # agents whose declared confidence/expertise is lower are skipped


@dataclass(frozen=True, kw_only=True)
class Aggregation:
    type: str = "all"  # voting | consensus | merge | first | best-confidence | best-change | all
    method: str = "majority"  # voting: majority | plurality | unanimous | weighted
    threshold: float = 0.5  # consensus: fraction of (confidence-weighted) agreement required
    complete: bool = False  # voting/consensus: wait for every agent even once the outcome is decided
    escalate: bool = False  # voting/consensus: ask agents.min agents, more only while their answers disagree


@dataclass(frozen=True, kw_only=True)
class Validation:
    min_confidence: float | None = None
    on_failure: str = "fail"  # fail | retry | fallback
    fallback: Any = None


@dataclass(frozen=True, kw_only=True)
class Backoff:
    initial: float = 0.5
    factor: float = 2.0
    max: float = 30.0
    jitter: float = 0.1  # fraction of the delay, drawn uniformly in [-j, +j]


MAX_CONCURRENCY = 4096  # most agent tasks a run holds at once (`concurrency`, `apply --concurrency`)
MAX_STEPS = 20_000  # most steps a pattern may have: each is checked, planned and journaled
MAX_ITEMS = 10_000  # most items a `forEach` may give, unless the step says `maxItems`
MAX_ITEMS_LIMIT = 100_000  # most a step's `maxItems` may be: each item's attempts are kept until the end

DEFAULT_RETRY_ON = (FailureKind.INFRASTRUCTURE, FailureKind.CRASH, FailureKind.TIMEOUT, FailureKind.HANG,
                    FailureKind.PARSE)


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    limit: int = 0  # extra attempts after the first
    backoff: Backoff = field(default_factory=Backoff)
    on: tuple[FailureKind, ...] = DEFAULT_RETRY_ON  # the loader turns the file's strings into kinds


@dataclass(frozen=True, kw_only=True)
class WorkspaceSpec:
    """Where a step's agents work (``workspace:``; see docs/workspaces.md)."""

    source: str | None = None  # `from`: a directory or template; None: the run's working directory
    mode: str | None = None  # worktree | copy | shared | readonly; None: worktree in git, else copy
    base: str | None = None  # a git ref; None: the current state, uncommitted files included
    require_change: bool = False  # an empty change fails the attempt (`no-change`)


@dataclass(frozen=True, kw_only=True)
class Verify:
    """``verify:``: a command run in each agent's workspace after it finishes; exit 0 = verified."""

    run: str
    timeout: float | None = None  # seconds
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Land:
    """``land:``: what happens to the step's chosen change."""

    to: str  # patch | branch | apply
    branch: str | None = None  # template; default runner-land/<run-id>/<step>
    path: str | None = None  # template (patch); default <journal>/changes/<step>/chosen.patch
    message: str | None = None  # template: the commit message (branch)
    source: str | None = None  # `from`: the step whose changes are chosen from; None: this step
    change: str | None = None  # template -> the agent whose change lands; None: the step's chosen change


@dataclass(frozen=True, kw_only=True)
class Approval:
    """``approval:`` of a step: the run waits for ``runner approve`` before the step runs."""

    message: str = ""
    timeout: float = 3600.0  # s without a decision = denied
    approvers: tuple[str, ...] = ()  # user names allowed to decide (empty: anyone on the machine)


@dataclass(frozen=True, kw_only=True)
class Budget:
    """``budget:`` of a pattern (the whole run) or a step: each limit None or > 0."""

    cost: float | None = None  # US dollars
    tokens: int | None = None  # input + output tokens
    time: float | None = None  # wall seconds

    def __bool__(self) -> bool:
        return any(v is not None for v in (self.cost, self.tokens, self.time))


@dataclass(frozen=True, kw_only=True, slots=True)  # slots: half the objects for a large pattern to build and keep
class Step:
    id: str
    task: str  # Jinja2 template source
    agents: AgentRequirement = field(default_factory=AgentRequirement)
    strategy: str = "parallel"  # parallel | sequential | race
    aggregation: Aggregation = field(default_factory=Aggregation)
    validation: Validation = field(default_factory=Validation)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout: float | None = None  # seconds, per attempt
    inactivity: float | None = None  # seconds without output before a task counts as hung
    when: str | None = None  # Jinja2 expression source; step skipped when false
    needs: tuple[str, ...] = ()  # explicit dependencies
    runs: str = "on-success"  # on-success | on-failure | always: after which outcome of its dependencies
    for_each: str | None = None  # Jinja2 expression yielding a list; `item` in the task
    max_items: int = MAX_ITEMS  # most items `for_each` may give; more fails the step (config)
    data: Mapping[str, Any] = field(default_factory=dict)  # extra structured data sent with the task
    workspace: WorkspaceSpec | None = None  # None: today's shared working directory
    verify: Verify | None = None
    land: Land | None = None
    budget: Budget = field(default_factory=Budget)
    approval: Approval | None = None
    cache: bool = False  # reuse a past run's success of the same fingerprint (runner.resume)
    line: int = 0  # where the step starts in its file (for messages)
    # composition (docs/pattern.md "Calling a pattern"): a call runs another pattern's steps
    uses: str | None = None  # the source as written (``./review.yaml``, ``builtin:NAME``); task is ""
    with_inputs: Mapping[str, Any] = field(default_factory=dict)  # `with:` input name -> template/value
    # the call this step came from, as the prefix of its id ("" at the top, "review/" inside the
    # call `review`): its templates' `steps.X` and `inputs` are those of that call's pattern
    scope: str = ""


@dataclass(frozen=True, kw_only=True)
class Pattern:
    name: str
    version: str
    description: str
    inputs: tuple[InputSpec, ...]
    steps: tuple[Step, ...]
    outputs: Mapping[str, str]  # name -> Jinja2 template source
    concurrency: int | None = None  # max agent tasks at once; None: executor default
    timeout: float | None = None  # whole run, seconds
    budget: Budget = field(default_factory=Budget)  # the whole run's
    fail_fast: bool = True
    source: str = "<memory>"  # file the pattern came from
    # call step id -> the called pattern (itself flattened): its steps follow the call in
    # ``steps`` with ids ``CALL/ID``; where they came from, for messages (runner.spec.compose)
    calls: Mapping[str, Pattern] = field(default_factory=dict, compare=False, repr=False)
    # key path -> (line, col), 1-based, e.g. "$.steps[0].task": lets run-time errors point at lines
    marks: Mapping[str, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)

    @functools.cached_property
    def step_index(self) -> dict[str, int]:
        """Step id -> its position in ``steps`` (built once: the executor asks per node)."""
        return {s.id: i for i, s in enumerate(self.steps)}

    def step(self, step_id: str) -> Step:
        return self.steps[self.step_index[step_id]]


# ---------------------------------------------------------------- pool


@dataclass(frozen=True, kw_only=True)
class Resources:
    cpu: float | None = None  # cores
    memory: int | None = None  # bytes
    timeout: float | None = None  # maximum agent lifetime, seconds
    idle_timeout: float | None = None  # seconds an agent may sit ready with nothing to do


@dataclass(frozen=True, kw_only=True)
class AgentDef:
    """How an agent is started and talked to. Shared by static agents and templates.

    ``credentials`` maps the environment variable the agent sees to the name of the
    environment variable (of the runner's own environment) holding the secret: the pool
    file never holds a secret, only where to find it.
    """

    type: str = "command"
    command: tuple[str, ...] = ()  # program and arguments; may contain `{task}`
    mode: str = "per-task"  # per-task | long-lived
    input: str = "stdin"  # per-task: stdin | argument (appended, or replaces `{task}`)
    ready_pattern: str | None = None  # long-lived: regex the prompt matches when ready
    login_pattern: str | None = None  # regex meaning the program wants a login
    done_pattern: str | None = None  # long-lived: regex ending one answer (default: ready_pattern)
    workdir: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    credentials: Mapping[str, str] = field(default_factory=dict)  # agent env var -> runner env var
    capabilities: tuple[str, ...] = ()
    expertise: Mapping[str, float] = field(default_factory=dict)  # tag -> 0..1
    confidence: float | None = None  # default confidence when the agent reports none
    metadata: Mapping[str, Any] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)
    runtime: str | None = None  # runtime name; None: first runtime by priority that can run it
    options: Mapping[str, Any] = field(default_factory=dict)  # agent-type specific settings


@dataclass(frozen=True, kw_only=True)
class StaticAgent:
    id: str
    name: str
    definition: AgentDef
    endpoint: str | None = None  # http(s):// or grpc://; None: started by a runtime


@dataclass(frozen=True, kw_only=True)
class AgentTemplate:
    name: str
    definition: AgentDef
    max_instances: int = 10


@dataclass(frozen=True, kw_only=True)
class RegistryConfig:
    type: str  # key of runner.registries.REGISTRIES
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class RuntimeConfig:
    type: str  # key of runner.runtimes.RUNTIMES
    priority: int = 0  # lower is tried first
    max_agents: int = 50
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class LoginPolicy:
    """What a run does when an agent needs a login (``login:`` in a pool file).

    ``fail``: the attempt fails as ``login`` (the run exits 3). ``notify``: the instruction
    (URL, command) is printed once; a human at a terminal may log in and press Enter to
    retry, anywhere else (CI) the run exits 3 at once. ``credentials``: the agent is
    restarted once with ``credentials`` (agent env var -> runner env var) added, then fails.
    """

    on_required: str = "fail"  # fail | notify | credentials
    credentials: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Pool:
    name: str
    agents: tuple[StaticAgent, ...] = ()
    registries: tuple[RegistryConfig, ...] = ()
    runtimes: tuple[RuntimeConfig, ...] = ()
    templates: tuple[AgentTemplate, ...] = ()
    warm_pool: Mapping[str, int] = field(default_factory=dict)
    health_interval: float = 30.0
    auto_restart: bool = False
    auth: Mapping[str, Any] = field(default_factory=dict)  # {tokenEnv: NAME} or {tokenFile: PATH}
    pricing: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # agent or model -> USD per 1M tokens
    login: LoginPolicy = field(default_factory=LoginPolicy)
    source: str = "<memory>"
    marks: Mapping[str, tuple[int, int]] = field(default_factory=dict, compare=False, repr=False)


def owner(pattern: Pattern, step_id: str) -> tuple[Pattern, str, list[tuple[Pattern, str]]]:
    """The pattern whose file declares step ``step_id``, its id there, and the calls on the way
    (each as (pattern holding the call, call id)), outermost first."""
    via: list[tuple[Pattern, str]] = []
    while "/" in step_id:
        call, rest = step_id.split("/", 1)
        callee = pattern.calls.get(call)
        if callee is None:
            break
        via.append((pattern, call))
        pattern, step_id = callee, rest
    return pattern, step_id, via
