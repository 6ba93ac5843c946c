"""A run's workspaces: the executor's one seam to everything in ``runner.workspace``.

The step runner calls, per step and attempt::

    ws = workspaces.prepare(step, agent_id, item, attempt, context)  # None: shared (no workspace)
    ... the agent runs with ws.cwd as its working directory ...
    change = workspaces.finish(step, ws, agent_id, item, attempt)    # captured, stored, verified
    ...
    landed = workspaces.land(step, change, context)                  # the chosen change, if asked
    workspaces.cleanup()                                             # at the end of the run

Journal layout (under the run's directory)::

    workspaces/<step>/<agent>[-<item>]-<attempt>/   the attempt's checkout (removed at the end)
    workspaces.jsonl                                 one line per workspace made: what gc removes
    changes/<step>/<agent>[-<item>]-<attempt>.patch  the captured change (kept)
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runner.errors import AgentFailure, FailureKind, WorkspaceError
from runner.spec.models import Step
from runner.workspace import WORKSPACES_DIR
from runner.workspace.capture import Change, SubmoduleWrite, capture, change_of
from runner.workspace.land import land_apply, land_branch, land_patch
from runner.workspace.snapshot import Source, snapshot
from runner.workspace.verify import Sandbox, run_verify
from runner.workspace.worktree import Workspace, branch_name, create, ref_part, remove

INDEX_FILE = "workspaces.jsonl"
DIFF_VIEW_LIMIT = 200_000  # characters of a patch templates see as `diff`
Render = Callable[[str, str], str]  # (template source, key path under the step) -> text
SandboxFor = Callable[[Path], Sandbox]  # a checkout's root -> where its verify runs


def captures(step: Step) -> bool:
    """Whether the step's agents get workspaces of their own (not the shared directory)."""
    return step.workspace is not None and step.workspace.mode != "shared"


class Workspaces:
    def __init__(self, run_dir: Path, run_id: str, workdir: Path, state_dir: Path, *,
                 keep: bool = False, force: bool = False, environ: dict[str, str] | None = None) -> None:
        self.run_dir = Path(run_dir).resolve()
        self.run_id = run_id
        self.workdir = Path(workdir)
        self.state_dir = Path(state_dir).resolve()
        self.keep = keep
        self.force = force
        self.labels = {"RUNNER_MANAGED": "1", "RUNNER_RUN_ID": run_id}
        self._sources: dict[str, Source] = {}
        self._made: list[Workspace] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------ per step
    def source(self, step: Step, render: Render) -> Source:
        """The step's source, snapshotted once (at its first attempt)."""
        with self._lock:
            if step.id not in self._sources:
                spec = step.workspace
                assert spec is not None
                where = render(spec.source, "workspace.from") if spec.source else str(self.workdir)
                path = Path(where).expanduser()
                path = path if path.is_absolute() else self.workdir / path
                self._sources[step.id] = snapshot(path, spec.base, exclude=(self.state_dir,))
            return self._sources[step.id]

    def then_and_now(self, step_id: str) -> tuple[Source, Source] | None:
        """The step's source as its workspaces started from it, and as it is now (snapshotted
        again: a landing may have changed it); None when the step made no workspace in this run."""
        with self._lock:
            source = self._sources.get(step_id)
        if source is None:
            return None
        return source, snapshot(source.root / source.subdir, source.ref, exclude=(self.state_dir,))

    def prepare(self, step: Step, agent_id: str, item: int | None, attempt: int, render: Render) -> Workspace:
        """A fresh workspace for one attempt (``WorkspaceError`` as an infrastructure failure)."""
        spec = step.workspace
        assert spec is not None
        try:
            source = self.source(step, render)
            mode = spec.mode or ("worktree" if source.is_git else "copy")
            name = _name(agent_id, item, attempt)
            path = self.run_dir / WORKSPACES_DIR / ref_part(step.id) / name
            branch = branch_name(self.run_id, step.id, name)
            repo = source.root if source.is_git and mode != "copy" else None
            self._record({"path": str(path), "repo": str(repo) if repo else None,
                          "branch": branch if repo else None})
            ws = create(source, mode, path, branch)
        except WorkspaceError as exc:
            raise AgentFailure(FailureKind.INFRASTRUCTURE, f"workspace: {exc}", agent_id=agent_id) from exc
        with self._lock:
            self._made.append(ws)
        return ws

    def finish(self, step: Step, ws: Workspace, agent_id: str, item: int | None, attempt: int, render: Render,
               stopping: threading.Event | None = None, denials: tuple[str, ...] = (),
               sandbox: SandboxFor | None = None) -> tuple[dict[str, Any], str, AgentFailure | None]:
        """Capture, store and verify one attempt's change: (its record, the patch text, why it
        fails the attempt or None). It fails on a failed verify (``verify``), nothing changed
        with ``requireChange`` (``no-change``), a change in a readonly workspace or permissions
        the agent reports denied (``denials``: ``TaskResult.denied``) (``denied``). ``sandbox``:
        where the agent's runtime runs the verify (given the checkout's root), None: on the host."""
        try:
            change = capture(ws.path, ws.base)
        except SubmoduleWrite as exc:  # the agent's doing, not the machine's
            raise AgentFailure(FailureKind.DENIED, f"workspace: {exc}", agent_id=agent_id) from exc
        except WorkspaceError as exc:
            raise AgentFailure(FailureKind.INFRASTRUCTURE, f"workspace: {exc}", agent_id=agent_id) from exc
        name = _name(agent_id, item, attempt)
        patch_path = self.run_dir / "changes" / ref_part(step.id) / f"{name}.patch"
        patch_path.parent.mkdir(parents=True, exist_ok=True)
        patch_path.write_bytes(change.patch)
        record = change_record(change, agent_id, item, attempt, patch_path, ws)
        diff = change.patch[:DIFF_VIEW_LIMIT].decode(errors="replace")
        if denials:
            what = ", ".join(sorted(set(denials)))
            return record, diff, AgentFailure(FailureKind.DENIED, f"the agent was denied permission to use: {what}",
                                              agent_id=agent_id)
        return record, diff, self._judge(step, ws, change, record, agent_id, render, stopping, sandbox)

    def _judge(self, step: Step, ws: Workspace, change: Change, record: dict[str, Any], agent_id: str,
               render: Render, stopping: threading.Event | None, sandbox: SandboxFor | None) -> AgentFailure | None:
        spec = step.workspace
        assert spec is not None
        if ws.mode == "readonly" and not change.empty:
            return AgentFailure(FailureKind.DENIED, f"changed {len(change.files)} file(s) in a readonly workspace",
                                agent_id=agent_id)
        if spec.require_change and change.empty:
            return AgentFailure(FailureKind.NO_CHANGE, "the agent changed nothing (workspace.requireChange)",
                                agent_id=agent_id)
        if step.verify is None:
            return None
        env = {**self.labels, "RUNNER_AGENT_ID": agent_id, **step.verify.env}
        command = render(step.verify.run, "verify.run")
        result = run_verify(command, ws.cwd, timeout=step.verify.timeout, env=env, stopping=stopping,
                            sandbox=sandbox(ws.path) if sandbox is not None else None)
        record["verify"] = result.to_dict()
        if result.ok:
            return None
        last = next((ln.strip() for ln in reversed(result.output.splitlines()) if ln.strip()), "")
        return AgentFailure(FailureKind.VERIFY, f"{result.summary()}{': ' + last[:200] if last else ''}",
                            agent_id=agent_id, output=result.output)

    # ------------------------------------------------------------ landing
    def land(self, step: Step, change: dict[str, Any], render: Render, source: str | None = None) -> dict[str, Any]:
        """Land the step's chosen change as ``step.land`` says (``WorkspaceError`` when refused);
        ``source``: the step whose workspaces it came from (``land.from``), None: ``step``."""
        spec = step.land
        assert spec is not None
        patch = Path(change["patch"]).read_bytes()

        chosen = change_of(patch)
        with self._lock:
            origin = self._sources.get(source or step.id)
        if origin is None:
            raise WorkspaceError(f"land: step `{source or step.id}` made no workspace in this run")
        if spec.to == "patch":
            dest = render(spec.path, "land.path") if spec.path else str(self.run_dir / "changes" / step.id / "chosen.patch")
            path = Path(dest).expanduser()
            return land_patch(chosen, path if path.is_absolute() else self.workdir / path)
        if spec.to == "branch":
            branch = (render(spec.branch, "land.branch") if spec.branch else "").strip() or \
                f"runner-land/{ref_part(self.run_id)}/{ref_part(step.id)}"
            by = f", chosen by {step.id}" if source and source != step.id else ""
            message = render(spec.message, "land.message") if spec.message else \
                f"runner: {source or step.id} (agent {change['agent']}{by}, run {self.run_id})"
            return land_branch(origin, chosen, branch.strip(), message)
        return land_apply(origin, chosen, self.force)

    # ------------------------------------------------------------ cleanup
    def cleanup(self) -> list[str]:
        """Remove every workspace of the run (unless kept); problems as text."""
        with self._lock:
            made, self._made = self._made, []
        if self.keep:
            return []
        problems: list[str] = []
        for ws in made:
            problems += remove(ws.path, ws.repo, ws.branch)
        return problems

    def _record(self, entry: dict[str, Any]) -> None:
        """Written before the workspace is made: a run killed halfway still tells gc about it."""
        line = json.dumps(entry) + "\n"
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.run_dir / INDEX_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def _name(agent_id: str, item: int | None, attempt: int) -> str:
    return f"{ref_part(agent_id)}{'' if item is None else f'-{item}'}-{attempt}"


def change_record(change: Change, agent_id: str, item: int | None, attempt: int, patch_path: Path,
                  ws: Workspace) -> dict[str, Any]:
    """What results, templates and reports say about one captured change."""
    return {"agent": agent_id, "attempt": attempt, "item": item, "patch": str(patch_path),
            "files": [f.to_dict() for f in change.files], "insertions": change.insertions,
            "deletions": change.deletions, "lines": change.lines, "digest": change.digest,
            "empty": change.empty, "verify": None, "workspace": str(ws.cwd)}
