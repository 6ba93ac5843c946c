"""Print the requirements of a pyproject.toml: its dependencies plus the named extras.

    python3 requirements.py pyproject.toml [EXTRA ...]

Extras the file does not declare are skipped (and said so on stderr); ``runner[...]``
self-references are expanded.
"""

import sys
import tomllib


def main(path: str, extras: list[str]) -> None:
    project = tomllib.load(open(path, "rb"))["project"]
    optional = project.get("optional-dependencies", {})
    out = list(project.get("dependencies", []))
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        if extra not in optional:
            print(f"requirements.py: no extra `{extra}` in {path}; skipped", file=sys.stderr)
            continue
        for req in optional[extra]:
            if req.replace(" ", "").startswith(project["name"] + "["):
                todo += req.split("[", 1)[1].rstrip("]").split(",")
            else:
                out.append(req)
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
