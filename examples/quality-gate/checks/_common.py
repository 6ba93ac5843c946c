"""Shared by the example's checkers: read the project path from the task, print one answer."""

import json
import sys
from pathlib import Path


def project() -> Path:
    path = Path(sys.stdin.read().strip() or ".")
    if not path.is_dir():
        answer("fail", 1.0, f"{path} is not a directory")
        sys.exit(0)
    return path


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if ".venv" not in p.parts and "__pycache__" not in p.parts)


def answer(result: str, confidence: float, reasoning: str) -> None:
    print(json.dumps({"result": result, "confidence": confidence, "reasoning": reasoning}))
