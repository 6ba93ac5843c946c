"""tests/ mirrors runner/: a test of ``runner/x/y.py`` lives in ``tests/x/``; suites that cross
rooms (real runs end to end, the lifecycle of agents) live in ``tests/e2e/``."""

import ast
import functools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOT_ROOMS = {"e2e", "helpers", "data", "__pycache__"}  # cross-cutting suites, shared helpers, fixtures


def test_every_test_folder_is_a_room_of_runner():
    rooms = {p.name for p in (ROOT / "runner").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    folders = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and not p.name.startswith(".")}
    assert folders - NOT_ROOMS <= rooms, f"test folders with no runner/ package: {sorted(folders - NOT_ROOMS - rooms)}"


def test_no_test_module_sits_loose_in_tests():
    loose = sorted(p.name for p in (ROOT / "tests").glob("test_*.py") if p.name != Path(__file__).name)
    assert loose == [], f"put these beside the code they test (tests/<room>/): {loose}"


# ------------------------------------------------------------------ imports (README "Imports")

@functools.cache
def _sources() -> dict[str, tuple[Path, str, ast.Module]]:
    """Every module of runner/ by dotted name: (path, text, syntax tree), parsed once."""
    out = {}
    for path in sorted((ROOT / "runner").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        text = path.read_text(encoding="utf-8")
        out[".".join(parts)] = (path, text, ast.parse(text, str(path)))
    return out


class _InFunction(ast.NodeVisitor):
    """The import statements inside a function (at any depth)."""

    def __init__(self) -> None:
        self.depth, self.found = 0, []

    def visit_FunctionDef(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> None:
        if self.depth:
            self.found.append(node)

    visit_ImportFrom = visit_Import


def test_every_import_inside_a_function_says_why_it_is_lazy():
    """An import inside a function is for an optional or heavy dependency, or keeps a module off
    the cold ``runner apply`` path; its line says which (``# lazy: <reason>``)."""
    unexplained = []
    for path, text, tree in _sources().values():
        lines = text.splitlines()
        finder = _InFunction()
        finder.visit(tree)
        for node in finder.found:
            statement = "\n".join(lines[node.lineno - 1:node.end_lineno])
            if not re.search(r"# (noqa: [A-Z0-9, ]+ - )?lazy: \S", statement):
                unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert unexplained == [], "move these to the top of their module, or say `# lazy: <reason>`:\n" + \
        "\n".join(unexplained)


def test_no_module_level_import_cycle_in_runner():
    """The arrows of module-level imports run one way (a package's ``__init__`` importing its own
    modules is not an arrow back): a cycle is a backward arrow, fixed by moving what both need."""
    modules = {name: tree for name, (_, _, tree) in _sources().items()}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, tree in modules.items():
        for node in tree.body:
            if isinstance(node, ast.Import):
                graph[name] |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom) and node.module in modules and node.level == 0:
                graph[name].add(node.module)
                graph[name] |= {f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules}
    graph = {n: {t for t in ts if t != n} for n, ts in graph.items()}
    cycles, state = [], {}

    def visit(name: str, stack: list[str]) -> None:
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*stack[stack.index(target):], target]))
            elif target not in state:
                visit(target, [*stack, target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == [], "import cycles among runner's modules:\n" + "\n".join(cycles)
