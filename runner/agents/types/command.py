"""The ``command`` agent type: any program, driven through its terminal.

Per-task mode (default) starts the program once per task. ``input: stdin`` writes the task
to its stdin (a pipe; then EOF); ``input: argument`` puts the task into the command line,
replacing every ``{task}`` placeholder, or appended as the last argument when there is none.
The answer is everything the program printed; see ``runner.agents.parse``.

Long-lived mode starts it once; it is ready when ``ready_pattern`` matches (its prompt). A
task is typed as one line (newlines become spaces unless ``options.multiline: true``); the
answer is the output up to ``done_pattern`` (default: the ready prompt again).

``login_pattern`` (default ``DEFAULT_LOGIN_PATTERN``) seen at any time means the program
wants a human to log in. Options: ``output: json`` requires the JSON answer form;
``multiline``; ``start_timeout`` (long-lived, seconds to reach the prompt, default 60).
"""

from __future__ import annotations

import re
from pathlib import Path

from runner.agents.model import TaskRequest, TaskResult
from runner.agents.parse import answer_usage, has_structured_answer, parse_answer
from runner.agents.types.base import AgentType, Detectors, LaunchSpec, TypeCapabilities
from runner.context import RunContext
from runner.errors import AgentFailure, FailureKind
from runner.plugins import closed, described
from runner.spec.models import AgentDef

#: "Please log in", "Login required", "sign in required", "Please authenticate",
#: "Not logged in", "authentication required", "run /login" (case-insensitive).
DEFAULT_LOGIN_PATTERN = (
    r"(?i)\b(?:please\s+(?:log\s*in|sign\s*in|authenticate)"
    r"|(?:log\s*in|sign\s*in|authentication)\s+(?:is\s+)?required"
    r"|not\s+logged\s+in|run\s+/login)\b"
)
MODES = ("per-task", "long-lived")
INPUTS = ("stdin", "argument")
OUTPUTS = ("text", "json")
PLACEHOLDER = "{task}"


def compile_pattern(source: str) -> re.Pattern[str]:
    """Detectors match line-wise: ``^``/``$`` are line anchors."""
    return re.compile(source, re.MULTILINE)


class CommandType(AgentType):
    """Wraps any program; see the module docstring."""

    name = "command"
    capabilities = TypeCapabilities(per_task=True, long_lived=True, concurrency=1)
    options_schema = closed({
        "output": described({"enum": list(OUTPUTS)}, "how the answer is read: free text, or strict JSON (text)"),
        "multiline": described({"type": "boolean"}, "long-lived: send the task as it is, newlines included "
                                                    "(false: joined into one line)"),
    })

    def validate(self, definition: AgentDef) -> list[str]:
        problems: list[str] = []
        if not definition.command or not str(definition.command[0]).strip():
            problems.append("`command` is missing: name the program to run (and its arguments)")
        if definition.mode not in MODES:
            problems.append(f"`mode` must be one of {', '.join(MODES)}, not `{definition.mode}`")
        if definition.input not in INPUTS:
            problems.append(f"`input` must be one of {', '.join(INPUTS)}, not `{definition.input}`")
        for key in ("ready_pattern", "login_pattern", "done_pattern"):
            source = getattr(definition, key)
            if source is not None:
                try:
                    compile_pattern(source)
                except re.error as exc:
                    problems.append(f"`{key}` is not a valid regular expression: {exc}")
        if definition.mode == "long-lived":
            if not definition.ready_pattern:
                problems.append("a long-lived agent needs `ready_pattern` (a regex of its prompt)")
            if any(PLACEHOLDER in a for a in definition.command):
                problems.append(f"`{PLACEHOLDER}` has no meaning in a long-lived agent's command")
        problems += self.option_problems(definition)
        conf = definition.confidence
        if conf is not None and not 0.0 <= conf <= 1.0:
            problems.append(f"`confidence` must lie in [0, 1], not {conf:g}")
        return problems

    def launch(self, definition: AgentDef, request: TaskRequest | None, ctx: RunContext,
               agent_id: str) -> LaunchSpec:
        argv = list(definition.command)
        stdin = None
        env = dict(definition.env)
        env.update(ctx.resolve_credentials(definition.credentials))
        if request is not None:
            env["RUNNER_TASK_ID"] = request.task_id
            if definition.input == "argument":
                if any(PLACEHOLDER in a for a in argv):
                    argv = [a.replace(PLACEHOLDER, request.description) for a in argv]
                else:
                    argv.append(request.description)
            else:
                stdin = request.description if request.description.endswith("\n") \
                    else request.description + "\n"
        if request is not None and request.workspace:  # where runner runs: its files stay reachable
            env.update(RUNNER_WORKSPACE=request.workspace, RUNNER_WORKDIR=str(Path(ctx.workdir).resolve()))
        env.update(ctx.label_env(agent_id))  # last: an agent cannot hide from `runner gc`
        return LaunchSpec(argv=tuple(argv), env=env, cwd=workdir(definition, ctx, request), stdin=stdin)

    def detectors(self, definition: AgentDef) -> Detectors:
        ready = compile_pattern(definition.ready_pattern) if definition.ready_pattern else None
        done = compile_pattern(definition.done_pattern) if definition.done_pattern else ready
        login = compile_pattern(definition.login_pattern or DEFAULT_LOGIN_PATTERN)
        return Detectors(ready=ready, login=login, done=done)

    def format_task(self, definition: AgentDef, request: TaskRequest) -> str:
        text = request.description.strip()
        if not definition.options.get("multiline"):
            text = " ".join(text.split("\n"))
        return text + "\n"

    def parse_result(self, definition: AgentDef, request: TaskRequest, output: str,
                     exit_status: int | None) -> TaskResult:
        strict = definition.options.get("output") == "json"
        if exit_status and not has_structured_answer(output):
            # It failed and left no explicit answer: its text is an error message, not a result.
            last = next((line.strip() for line in reversed(output.splitlines()) if line.strip()), "")
            said = f": {last[:200]}" if last else ""  # its last words usually say why
            raise AgentFailure(FailureKind.TASK, f"the program exited with status {exit_status}{said}",
                               output=output)
        result, confidence, reasoning = parse_answer(output, definition.confidence, strict=strict)
        return TaskResult(task_id=request.task_id, result=result, confidence=confidence,
                          reasoning=reasoning, output=output, usage=answer_usage(output))


def workdir(definition: AgentDef, ctx: RunContext, request: TaskRequest | None = None) -> Path:
    """The agent's working directory: the task's workspace when it has one, else ``workdir``
    relative to the run's workdir."""
    if request is not None and request.workspace:
        return Path(request.workspace)
    if not definition.workdir:
        return Path(ctx.workdir)
    return Path(ctx.workdir) / Path(definition.workdir).expanduser()
