"""Regenerate schemas/*.schema.json: ``python tools/gen_schemas.py [OUTDIR]`` (default: the repo's schemas/).

The JSON files are the source the loaders read; this script only keeps the shared parts
(agent keys, durations) from drifting apart. Edit here, regenerate, commit both.
"""
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from runner.errors import FailureKind  # noqa: E402
from runner.spec.models import MAX_CONCURRENCY, MAX_ITEMS_LIMIT  # noqa: E402
from runner.spec.units import CPU_RE, DURATION_RE, MAX_CPU, MAX_DURATION, MAX_MEMORY, MEMORY_RE  # noqa: E402

D = "https://json-schema.org/draft/2020-12/schema"
# Every number that sizes something at run time (threads, agents, retries, timers) has a maximum,
# documented in docs/pattern.md and docs/pool.md: past it a value crashes or exhausts the machine.
# "x-unit" (checked by runner.spec.diagnose with runner.spec.units.UNITS) bounds the string forms.
MAX_AGENTS = 1000  # agents of a step, instances of a template, a runtime's agents, warm agents
MAX_RETRIES = 100
MAX_FACTOR = 100
duration = {"type": ["number", "string"], "minimum": 0, "pattern": DURATION_RE, "x-unit": "duration",
            "maximum": MAX_DURATION,
            "x-expected": "a duration such as 500ms, 30s, 5m, 1h or a number of seconds"}
count = {"type": "integer", "minimum": 1, "maximum": MAX_AGENTS}
fraction = {"type": "number", "minimum": 0, "maximum": 1}
strings = {"type": "array", "items": {"type": "string"}}
def obj(props, required=(), **kw):
    o = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        o["required"] = list(required)
    o.update(kw)
    return o

# `budget:` of a pattern or a step (docs/pattern.md "Budgets"): each limit > 0
budget = obj({"cost": {"type": "number", "exclusiveMinimum": 0, "description": "US dollars"},
              "tokens": {"type": "integer", "exclusiveMinimum": 0, "description": "input + output tokens"},
              "time": {**duration, "exclusiveMinimum": 0, "description": "wall time"}})
step_id = {"type": "string", "pattern": "^[a-z_][a-z0-9_]*$",
           "x-expected": "lowercase letters, digits and `_`, starting with a letter or `_` (so templates can say steps.ID)"}
name = {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]*$",
        "x-expected": "lowercase letters, digits, `.`, `_` and `-`, starting with a letter or digit"}
AGG = ["voting", "consensus", "merge", "first", "best-confidence", "best-change", "all"]
WS_MODES = ["worktree", "copy", "shared", "readonly"]
LAND = ["patch", "branch", "apply"]
pattern = obj({
    "kind": {"const": "pattern"},
    "name": name,
    "version": {"type": ["string", "number"]},
    "description": {"type": "string"},
    "inputs": {"type": "object",
               "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                                 "x-expected": "letters, digits and `_`, not starting with a digit"},
               "additionalProperties": obj({
                   "type": {"enum": ["string", "number", "integer", "boolean", "array", "object"]},
                   "required": {"type": "boolean"},
                   "description": {"type": "string"},
                   "default": {},
                   "enum": {"type": "array", "minItems": 1},
                   "min": {"type": "number"},
                   "max": {"type": "number"},
                   "pattern": {"type": "string"},
               })},
    # bounded (like `apply --concurrency`): one task thread each, the most a run can hold
    "concurrency": {"type": "integer", "minimum": 1, "maximum": MAX_CONCURRENCY},
    "timeout": duration,
    "budget": budget,
    "failFast": {"type": "boolean"},
    "steps": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/step"}},
    "outputs": {"type": "object", "additionalProperties": {"type": "string"}},
}, required=["name", "steps"])
pattern["$schema"] = D
pattern["$id"] = "https://runner.invalid/schemas/pattern.schema.json"
pattern["title"] = "runner pattern"
pattern["$defs"] = {
    "step": obj({
        "id": step_id,
        "description": {"type": "string"},
        "agents": obj({
            "capabilities": strings,
            "min": count,
            "max": count,
            "prefer": strings,
            "minConfidence": fraction,
        }),
        "task": {"type": "string"},
        "data": {"type": "object"},
        "strategy": {"enum": ["parallel", "sequential", "race"]},
        "aggregation": {
            "type": ["string", "object"],
            "if": {"type": "string"},
            "then": {"enum": AGG},
            "else": obj({
                "type": {"enum": AGG},
                "method": {"enum": ["majority", "plurality", "unanimous", "weighted"]},
                "threshold": fraction,
                "complete": {"type": "boolean"},
                "escalate": {"type": "boolean"},
            }, required=["type"]),
        },
        "validation": obj({
            "minConfidence": fraction,
            "onFailure": {"enum": ["fail", "retry", "fallback"]},
            "fallback": {},
        }, **{"if": {"properties": {"onFailure": {"const": "fallback"}}, "required": ["onFailure"]},
              "then": {"required": ["fallback"]}}),
        "retry": obj({
            "limit": {"type": "integer", "minimum": 0, "maximum": MAX_RETRIES},
            "backoff": obj({
                "initial": duration, "factor": {"type": "number", "minimum": 1, "maximum": MAX_FACTOR},
                "max": duration, "jitter": fraction,
            }),
            "on": {"type": "array", "items": {"enum": [k.value for k in FailureKind]}},
        }),
        "timeout": duration,
        "budget": budget,
        # a human decides before the step runs (`runner approve`; docs/pattern.md "Approval gates")
        "approval": obj({"message": {"type": "string"}, "timeout": duration,
                         "approvers": {"type": "array", "items": {"type": "string", "minLength": 1}}}),
        # reuse a past run's success with the same fingerprint (docs/execution.md "Resume")
        "cache": {"type": "boolean"},
        "inactivity": duration,
        "when": {"type": ["string", "boolean"]},
        "needs": strings,
        "runs": {"enum": ["on-success", "on-failure", "always"]},
        "forEach": {"type": "string"},
        "maxItems": {"type": "integer", "minimum": 1, "maximum": MAX_ITEMS_LIMIT},
        # where the agents work; a string is the mode alone (docs/workspaces.md)
        "workspace": {
            "type": ["string", "object"],
            "if": {"type": "string"}, "then": {"enum": WS_MODES},
            "else": obj({"from": {"type": "string", "minLength": 1}, "mode": {"enum": WS_MODES},
                         "base": {"type": "string", "minLength": 1}, "requireChange": {"type": "boolean"}}),
        },
        "verify": {
            "type": ["string", "object"],
            "if": {"type": "string"}, "then": {"minLength": 1},
            "else": obj({"run": {"type": "string", "minLength": 1}, "timeout": duration,
                         "env": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}}},
                        required=["run"]),
        },
        "land": {
            "type": ["string", "object"],
            "if": {"type": "string"}, "then": {"enum": LAND},
            "else": obj({"to": {"enum": LAND}, "branch": {"type": "string", "minLength": 1},
                         "path": {"type": "string", "minLength": 1}, "message": {"type": "string"},
                         # a later (judge) step lands the change of the agent it names (docs/workspaces.md)
                         "from": {"type": "string", "minLength": 1}, "change": {"type": "string", "minLength": 1}},
                        required=["to"]),
        },
        # composition: run another pattern's steps as this step (docs/pattern.md "Calling a pattern")
        "uses": {"type": "string", "minLength": 1},
        "with": {"type": "object"},
    }, required=["id"], **{"not": {"required": ["task", "uses"]}}),
}

agent_fields = {
    "type": {"type": "string"},
    "command": {"type": ["array", "string"], "items": {"type": "string"}, "minItems": 1, "minLength": 1},
    "mode": {"enum": ["per-task", "long-lived"]},
    "input": {"enum": ["stdin", "argument"]},
    "readyPattern": {"type": "string"},
    "loginPattern": {"type": "string"},
    "donePattern": {"type": "string"},
    "workdir": {"type": "string"},
    "env": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
    "credentials": {"type": "object", "additionalProperties": {
        # a string is a schema-valid mistake so that the semantic check can explain it
        "type": ["object", "string"], "properties": {"env": {"type": "string", "minLength": 1}},
        "required": ["env"], "additionalProperties": False}},
    "capabilities": strings,
    "expertise": {"type": ["number", "object"], "minimum": 0, "maximum": 1,
                  "additionalProperties": fraction},
    "confidence": fraction,
    "metadata": {"type": "object"},
    "resources": obj({
        "cpu": {"type": ["number", "string"], "exclusiveMinimum": 0, "pattern": CPU_RE, "x-unit": "cpu",
                "maximum": MAX_CPU, "x-expected": "a CPU amount such as 1, 0.5 or 500m"},
        "memory": {"type": ["integer", "string"], "minimum": 1, "pattern": MEMORY_RE, "x-unit": "memory",
                   "maximum": MAX_MEMORY, "x-expected": "a memory size such as 512Mi, 1Gi, 100M or a number of bytes"},
        "timeout": duration,
        "idleTimeout": duration,
    }),
    "runtime": {"type": "string"},
    "options": {"type": "object"},
}
agent = obj({"id": {"type": "string", "minLength": 1}, "name": {"type": "string"},
             "endpoint": {"type": "string", "pattern": "^(https?|grpcs?)://.+",
                          "x-expected": "a URL starting with http://, https://, grpc:// or grpcs://"},
             **agent_fields}, required=["id"])
template = obj({"name": {"type": "string", "minLength": 1},
                "maxInstances": count, **agent_fields}, required=["name"])
pool = obj({
    "kind": {"const": "pool"},
    "name": name,
    "description": {"type": "string"},
    "agents": {"type": "array", "items": {"$ref": "#/$defs/agent"}},
    # the plug-in's own keys (at the top level or under `options:`) are checked against its
    # options_schema by runner.spec.pluginchecks, not here: the plug-in declares them
    "registries": {"type": "array", "items": {"type": "object", "required": ["type"], "properties": {
        "type": {"type": "string"}, "options": {"type": "object"}}}},
    "runtimes": {"type": "array", "items": {"type": "object", "required": ["type"], "properties": {
        "type": {"type": "string"}, "priority": {"type": "integer"},
        "maxAgents": count, "options": {"type": "object"}}}},
    "templates": {"type": "array", "items": {"$ref": "#/$defs/template"}},
    "warmPool": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0, "maximum": MAX_AGENTS}},
    "healthInterval": duration,
    "autoRestart": {"type": "boolean"},
    # one token source (tokenEnv or tokenFile), plus an optional CA for TLS to the agents
    "auth": obj({"tokenEnv": {"type": "string"}, "tokenFile": {"type": "string"}, "caFile": {"type": "string"}},
                **{"not": {"required": ["tokenEnv", "tokenFile"]}}),
    "login": obj({"onRequired": {"enum": ["fail", "notify", "credentials"]},
                  "credentials": agent_fields["credentials"]}),
    # agent id / template name / model -> US dollars per million tokens (docs/pool.md "Pricing")
    "pricing": {"type": "object", "propertyNames": {"minLength": 1}, "additionalProperties": obj(
        {k: {"type": "number", "minimum": 0} for k in ("input", "output", "cacheRead")},
        required=["input", "output"])},
}, required=["name"])
pool["$schema"] = D
pool["$id"] = "https://runner.invalid/schemas/pool.schema.json"
pool["title"] = "runner pool"
# `definition`: an agent definition alone (what runner.spec.agentdef reads and writes for every
# transport: env registry JSON, etcd records, containers, pods, `runner agent serve --definition`)
pool["$defs"] = {"agent": agent, "template": template, "definition": obj(agent_fields)}

# What `runner apply --output` writes (docs/results.md). Failure kinds are FailureKind's values
# (attempts, steps); a run's own error may also be `interrupted`.
KINDS = [k.value for k in FailureKind]
result = {
  "description": "What `runner apply --output result.json` writes: one run of a pattern on a pool. See docs/results.md.",
  "type": "object",
  "additionalProperties": False,
  "required": ["schemaVersion", "runId", "status", "exitCode", "pattern", "pool", "startedAt", "finishedAt",
               "durationMs", "inputs", "outputs", "error", "steps", "agents"],
  "properties": {
    "schemaVersion": {"const": 1},
    "runId": {"type": "string", "minLength": 1},
    "status": {"enum": ["succeeded", "failed", "interrupted", "error", "waiting"]},
    "exitCode": {"type": "integer", "minimum": 0, "maximum": 255},
    "pattern": {
      "type": "object",
      "additionalProperties": False,
      "required": ["name", "version", "source"],
      "properties": {
        "name": {"type": "string", "minLength": 1},
        "version": {"type": ["string", "null"]},
        "source": {"type": ["string", "null"], "description": "path of the pattern file, or builtin:<name>"}
      }
    },
    "pool": {
      "type": ["object", "null"],
      "additionalProperties": False,
      "required": ["name", "source"],
      "properties": {
        "name": {"type": "string"},
        "source": {"type": ["string", "null"]}
      }
    },
    "startedAt": {"$ref": "#/$defs/time"},
    "finishedAt": {"$ref": "#/$defs/timeOrNull"},
    "durationMs": {"$ref": "#/$defs/duration"},
    "inputs": {"type": "object"},
    "outputs": {"type": "object"},
    "error": {"$ref": "#/$defs/runError"},
    "steps": {"type": "array", "items": {"$ref": "#/$defs/step"}},
    "agents": {"type": "array", "items": {"$ref": "#/$defs/agent"}},
    "usage": {"$ref": "#/$defs/usage", "description": "the sum over every step's attempts"},
    "resumedFrom": {"type": "string", "minLength": 1,
                    "description": "`runner apply --resume RUN_ID`: the run this one resumed (docs/execution.md)"}
  },
  "$defs": {
    "time": {"type": "string", "format": "date-time",
             "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$"},
    "timeOrNull": {"oneOf": [{"$ref": "#/$defs/time"}, {"type": "null"}]},
    "duration": {"type": "integer", "minimum": 0, "description": "milliseconds"},
    "confidence": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
    "error": {
      "description": "Why a step failed; null when it did not.",
      "oneOf": [
        {"type": "null"},
        {"type": "object", "additionalProperties": False, "required": ["kind", "message"],
         "properties": {"kind": {"enum": KINDS}, "message": {"type": "string"}}}
      ]
    },
    "runError": {
      "description": "Why the run failed as a whole (its failed step's kind, or interrupted); null when it did not.",
      "oneOf": [
        {"type": "null"},
        {"type": "object", "additionalProperties": False, "required": ["kind", "message"],
         "properties": {"kind": {"enum": [*KINDS, "interrupted", "waiting"]}, "message": {"type": "string"}}}
      ]
    },
    "errorKind": {"enum": [None, *KINDS]},
    "usage": {
      "type": "object",
      "additionalProperties": False,
      "description": "tokens and cost as the agent reported them (cost priced from the pool's or the shipped "
                     "price table when it reported tokens only); a field nobody reported is absent (docs/results.md)",
      "properties": {
        "input_tokens": {"type": "integer", "minimum": 0, "description": "every prompt token, cached ones included"},
        "output_tokens": {"type": "integer", "minimum": 0},
        "cache_read_tokens": {"type": "integer", "minimum": 0, "description": "the part of input_tokens read from "
                                                                              "the vendor's prompt cache"},
        "cost_usd": {"type": "number", "minimum": 0},
        "turns": {"type": "integer", "minimum": 0}
      }
    },
    "step": {
      "type": "object",
      "additionalProperties": False,
      "required": ["id", "status", "startedAt", "finishedAt", "durationMs", "output", "confidence", "agents",
                   "aggregation", "attempts", "error"],
      "properties": {
        "id": {"type": "string", "minLength": 1},
        "status": {"enum": ["succeeded", "failed", "skipped", "cancelled", "pending", "waiting"]},
        "startedAt": {"$ref": "#/$defs/timeOrNull"},
        "finishedAt": {"$ref": "#/$defs/timeOrNull"},
        "durationMs": {"$ref": "#/$defs/duration"},
        "output": {"description": "the step's aggregated answer (any JSON value)"},
        "confidence": {"$ref": "#/$defs/confidence"},
        "agents": {"type": "array", "items": {"type": "string"}},
        "aggregation": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/aggregation"}]},
        "attempts": {"type": "array", "items": {"$ref": "#/$defs/attempt"}},
        "usage": {"$ref": "#/$defs/usage", "description": "the sum over the step's attempts"},
        "error": {"$ref": "#/$defs/error"},
        # resume and `cache: true` (docs/execution.md "Resume")
        "fingerprint": {"type": "string", "description": "what the step's answer depends on, hashed"},
        "reusedFrom": {"type": "string", "minLength": 1,
                       "description": "the run whose success of the same fingerprint this step reused "
                                      "(its attempts are that run's; it cost nothing in this run)"},
        "waiting": {"type": "object", "required": ["message"],
                    "properties": {"message": {"type": "string"},
                                   "deadline": {"type": "string", "format": "date-time",
                                                "description": "when the gate's timeout ends: a decision "
                                                               "after it is refused, a resume denies the step"}},
                    "description": "status waiting: the approval gate's message and deadline"},
        # steps with a workspace (docs/workspaces.md)
        "changes": {"type": "array", "items": {"$ref": "#/$defs/change"},
                    "description": "steps with a workspace: the last captured change of each agent"},
        "change": {"oneOf": [{"type": "null"}, {"$ref": "#/$defs/change"}],
                   "description": "steps with a workspace: the chosen change"},
        "landed": {"type": ["object", "null"],
                   "description": "where the chosen change landed: {mode: patch, path} | "
                                  "{mode: branch, branch, commit, parent, onSnapshot} | {mode: apply, path, files}"},
        # a step with `uses` (docs/pattern.md "Calling a pattern")
        "uses": {"type": "string", "description": "steps with `uses`: the called pattern's source"},
        "outputs": {"type": ["object", "null"],
                    "description": "steps with `uses`: the called pattern's outputs by name (null: it did not return)"}
      }
    },
    "change": {
      "type": "object",
      "additionalProperties": False,
      "description": "one attempt's change in its workspace, captured as a binary git patch (docs/workspaces.md)",
      "required": ["agent", "attempt", "item", "patch", "files", "insertions", "deletions", "lines", "digest", "empty",
                   "verify", "workspace"],
      "properties": {
        "agent": {"type": "string"},
        "attempt": {"type": "integer", "minimum": 1},
        "item": {"type": ["integer", "null"]},
        "patch": {"type": "string", "description": "the patch file in the run's journal"},
        "files": {"type": "array", "items": {
          "type": "object", "additionalProperties": False,
          "required": ["path", "oldPath", "status", "insertions", "deletions", "binary"],
          "properties": {
            "path": {"type": "string"}, "oldPath": {"type": ["string", "null"]},
            "status": {"enum": ["added", "modified", "deleted", "renamed", "copied"]},
            "insertions": {"type": "integer", "minimum": 0}, "deletions": {"type": "integer", "minimum": 0},
            "binary": {"type": "boolean"}}}},
        "insertions": {"type": "integer", "minimum": 0},
        "deletions": {"type": "integer", "minimum": 0},
        "lines": {"type": "integer", "minimum": 0},
        "digest": {"type": "string", "description": "sha256 of the patch; empty when nothing changed"},
        "empty": {"type": "boolean"},
        "verify": {"oneOf": [{"type": "null"}, {
          "type": "object", "additionalProperties": False,
          "required": ["ok", "exitCode", "output", "durationMs", "timedOut"],
          "properties": {
            "ok": {"type": "boolean"}, "exitCode": {"type": ["integer", "null"]}, "output": {"type": "string"},
            "durationMs": {"$ref": "#/$defs/duration"}, "timedOut": {"type": "boolean"}}}]},
        "workspace": {"type": "string"}
      }
    },
    "aggregation": {
      "type": "object",
      "required": ["type"],
      "properties": {
        "type": {"type": "string", "minLength": 1},
        "method": {"type": ["string", "null"]},
        "votes": {"type": "object", "additionalProperties": {"type": "number", "minimum": 0}},
        "weights": {"type": "object", "additionalProperties": {"type": "number"}},  # agent -> weight
        "agreement": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
        "ok": {"type": "boolean"},
        "decidedEarly": {"type": "boolean"},  # the remaining agents were cancelled once the outcome was fixed
        "escalated": {"type": "integer", "minimum": 0},  # escalate: agents asked beyond agents.min
        "reason": {"type": ["string", "null"]}
      }
    },
    "attempt": {
      "type": "object",
      "additionalProperties": False,
      "required": ["attempt", "agentId", "item", "startedAt", "finishedAt", "durationMs", "status", "result",
                   "confidence", "reasoning", "errorKind", "error", "usage"],
      "properties": {
        "attempt": {"type": "integer", "minimum": 1},
        "agentId": {"type": "string"},
        "item": {"description": "the item of a step that runs once per item; null otherwise"},
        "startedAt": {"$ref": "#/$defs/time"},
        "finishedAt": {"$ref": "#/$defs/timeOrNull"},
        "durationMs": {"$ref": "#/$defs/duration"},
        "status": {"enum": ["ok", "failed", "cancelled"]},
        "result": {"description": "the agent's answer (any JSON value)"},
        "confidence": {"$ref": "#/$defs/confidence"},
        "reasoning": {"type": ["string", "null"]},
        "errorKind": {"$ref": "#/$defs/errorKind"},
        "error": {"type": ["string", "null"]},
        "usage": {"$ref": "#/$defs/usage"},
        "change": {"$ref": "#/$defs/change"}
      }
    },
    "agent": {
      "type": "object",
      "additionalProperties": False,
      "required": ["id", "name", "type", "source", "runtime", "endpoint", "spawned", "metrics"],
      "properties": {
        "id": {"type": "string", "minLength": 1},
        "name": {"type": "string"},
        "type": {"type": "string", "minLength": 1},
        "source": {"type": "string", "pattern": "^(static|env|direct|etcd|template:.+)$"},
        "runtime": {"type": ["string", "null"]},
        "endpoint": {"type": ["string", "null"]},
        "spawned": {"type": "boolean"},
        "usage": {"$ref": "#/$defs/usage", "description": "the sum over the agent's attempts"},
        "metrics": {
          "type": "object",
          "properties": {
            "cpu": {"type": "number", "minimum": 0},
            "memory": {"type": "integer", "minimum": 0},
            "uptime": {"type": "integer", "minimum": 0},
            "messageCount": {"type": "integer", "minimum": 0}
          }
        }
      }
    }
  }
}
result["$schema"] = D
result["$id"] = "https://runner.dev/schemas/result.schema.json"
result["title"] = "runner result"

# `*.test.yaml`: tests of a pattern, run by `runner test` (docs/testing.md)
scripted = obj({"answer": {}, "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                "reasoning": {"type": "string"},
                "error": {"enum": [k.value for k in FailureKind]}},
               **{"oneOf": [{"required": ["answer"]}, {"required": ["error"]}]})
test_case = obj({
    "name": {"type": "string", "minLength": 1},
    "inputs": {"type": "object"},
    "cassette": {"type": "string", "minLength": 1},
    # step id -> one answer for every agent of the step, or agent id -> that agent's answer
    "answers": {"type": "object", "additionalProperties": {"type": "object", "anyOf": [
        {"$ref": "#/$defs/answer"},
        {"additionalProperties": {"$ref": "#/$defs/answer"}, "not": {"required": ["answer"]}}]}},
    "expect": obj({"exitCode": {"type": "integer", "minimum": 0},
                   "outputs": {"type": "object"},
                   "steps": {"type": "object", "additionalProperties": {
                       "enum": ["succeeded", "failed", "skipped", "cancelled"]}}}),
}, required=["name"], **{"not": {"required": ["cassette", "answers"]}})
test = obj({
    "kind": {"const": "test"},
    "pattern": {"type": "string", "minLength": 1},
    "pool": {"type": "string", "minLength": 1},
    "tests": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/case"}},
}, required=["pattern", "tests"])
test["$schema"] = D
test["$id"] = "https://runner.invalid/schemas/test.schema.json"
test["title"] = "runner pattern tests"
test["$defs"] = {"case": test_case, "answer": scripted}


def order(s):
    # $schema/$id/title first for readers
    head = {k: s[k] for k in ("$schema", "$id", "title") if k in s}
    return {**head, **{k: v for k, v in s.items() if k not in head}}
out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "schemas"
for n, s in (("pattern", pattern), ("pool", pool), ("result", result), ("test", test)):
    (out / f"{n}.schema.json").write_text(json.dumps(order(s), indent=2) + "\n")
