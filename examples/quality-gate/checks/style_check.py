"""Checker: lines are short, no tabs, no trailing spaces, every module has a docstring."""

import ast

from _common import answer, project, python_files

root = project()
problems = []
for path in python_files(root):
    text = path.read_text()
    for n, line in enumerate(text.splitlines(), 1):
        if len(line) > 100 or "\t" in line or line != line.rstrip():
            problems.append(f"{path.name}:{n}")
    if path.parent.name != "tests" and ast.get_docstring(ast.parse(text)) is None:
        problems.append(f"{path.name}: no module docstring")
if problems:
    answer("fail", 0.6, f"{len(problems)} style problem(s): " + ", ".join(problems[:5]))
else:
    answer("pass", 0.6, "style is clean")
