"""Checker: every Python file compiles."""

from _common import answer, project, python_files

root = project()
errors = []
files = python_files(root)
for path in files:
    try:
        compile(path.read_bytes(), str(path), "exec")
    except SyntaxError as exc:
        errors.append(f"{path}:{exc.lineno}: {exc.msg}")
if errors:
    answer("fail", 1.0, f"{len(errors)} file(s) do not compile: " + "; ".join(errors[:3]))
else:
    answer("pass", 1.0, f"{len(files)} files compile")
