"""Image recipes and the build cache (the base image is built for real, once)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from docker_helpers import CLIENT, base_image, docker, engine  # noqa: F401 - fixtures

from runner.images.build import build_images, image_recipe
from runner.images.recipes import recipe, source_root

pytestmark = pytest.mark.docker


def test_recipe_hash_follows_what_the_image_is_made_of(tmp_path):
    src = tmp_path / "src"
    root = source_root()
    src.mkdir()
    for rel in ("pyproject.toml", "README.md", "images"):
        (shutil.copytree if (root / rel).is_dir() else shutil.copy2)(root / rel, src / rel)
    (src / "runner").mkdir()
    (src / "runner" / "__init__.py").write_text("x = 1\n")

    def base_hash() -> str:
        return recipe("agent-base", src, {"BASE": "root:1"}, "root").hash

    def claude_hash() -> str:
        return recipe("agent-claude", src, {"ROOT": "root:1"}, base_hash()).hash

    first, first_cli = base_hash(), claude_hash()
    assert base_hash() == first  # stable
    (src / "tests").mkdir()
    (src / "tests" / "test_x.py").write_text("")
    (src / "runner" / "__pycache__").mkdir()
    (src / "runner" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"\0")
    assert base_hash() == first  # neither tests nor bytecode are in the image
    (src / "runner" / "__init__.py").write_text("x = 2\n")
    assert base_hash() != first  # runner's code is
    assert claude_hash() != first_cli  # and the CLI images follow their base
    assert recipe("agent-base", src, {"BASE": "root:2"}, "root").hash != base_hash()


def test_base_image_is_cached_by_recipe(base_image):
    t0 = time.monotonic()
    again = build_images(["agent-base"], client=CLIENT)
    assert time.monotonic() - t0 < 10
    base = again[-1]
    assert base.cached and base.tag == base_image
    assert image_recipe(CLIENT, base.tag) == base.hash
    assert docker("run", "--rm", "--entrypoint", "id", base.tag, "-un").strip() == "agent"
    health = docker("image", "inspect", "--format", "{{json .Config.Healthcheck.Test}}", base.tag)
    assert "/health" in health
    entry = docker("image", "inspect", "--format", "{{json .Config.Entrypoint}}", base.tag)
    assert entry.strip() == '["runner","agent","serve"]'


def test_images_build_command(base_image):
    env = dict(os.environ, RUNNER_DOCKER_CLIENT=CLIENT)
    ok = subprocess.run([sys.executable, "-m", "runner", "images", "build", "--only", "agent-base"],
                        capture_output=True, text=True, timeout=120, env=env)
    assert ok.returncode == 0, ok.stderr
    assert f"{base_image}\tcached\t" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "runner", "images", "build", "--only", "agent-nope"],
                         capture_output=True, text=True, timeout=60, env=env)
    assert bad.returncode == 2 and "unknown image `agent-nope`" in bad.stderr
