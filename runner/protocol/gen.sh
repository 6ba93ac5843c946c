#!/bin/sh
# Regenerate the gRPC stubs from agent.proto:  runner/protocol/gen.sh [OUTROOT]
# Writes OUTROOT/runner/protocol/agent_pb2.py and agent_pb2_grpc.py (OUTROOT defaults to the
# repo root, i.e. in place). tests/protocol/test_stubs.py regenerates into a temp dir and checks
# the committed stubs are byte-identical. Needs grpcio-tools, pinned in the `test` extra
# (another version generates different text). PYTHON picks the interpreter (default python3).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root}
mkdir -p "$out/runner/protocol"
cd "$root"
# -I at the repo root so the generated import reads `from runner.protocol import agent_pb2`.
"${PYTHON:-python3}" -m grpc_tools.protoc -I . --python_out="$out" --grpc_python_out="$out" \
  runner/protocol/agent.proto
