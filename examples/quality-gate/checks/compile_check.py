"""Checker: every Python file compiles."""

import py_compile

from _common import answer, project, python_files

root = project()
errors = []
for path in python_files(root):
    try:
        py_compile.compile(str(path), doraise=True, cfile="/dev/null")
    except py_compile.PyCompileError as exc:
        errors.append(f"{path}: {exc.msg.strip().splitlines()[-1]}")
if errors:
    answer("fail", 1.0, f"{len(errors)} file(s) do not compile: " + "; ".join(errors[:3]))
else:
    answer("pass", 1.0, f"{len(python_files(root))} files compile")
