"""The committed gRPC stubs are what runner/protocol/gen.sh makes from agent.proto today."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import runner.protocol

PACKAGE = Path(runner.protocol.__file__).parent


def test_stubs_are_current(tmp_path):
    subprocess.run(["sh", str(PACKAGE / "gen.sh"), str(tmp_path)], check=True,
                   env={**os.environ, "PYTHON": sys.executable})
    for name in ("agent_pb2.py", "agent_pb2_grpc.py"):
        fresh = (tmp_path / "runner" / "protocol" / name).read_bytes()
        assert fresh == (PACKAGE / name).read_bytes(), \
            f"{name} is stale: run `PYTHON=.venv/bin/python runner/protocol/gen.sh` and commit it"


def test_proto_names_the_versioned_service():
    proto = (PACKAGE / "agent.proto").read_text()
    assert "package runner.agent.v1;" in proto
    for rpc in ("rpc ExecuteTask(", "rpc HealthCheck(", "rpc StreamOutput(StreamOutputRequest) returns (stream"):
        assert rpc in proto
