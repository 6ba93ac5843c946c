#!/usr/bin/env bash
# Build runner's images with the project's venv; by default only agent-base (what CI's docker
# tests need; the CLI images are big and are built, cached, by the tests that use them).
#   .ci/build-images.sh                 # agent-base
#   .ci/build-images.sh agent-claude    # agent-claude (and agent-base)
#   .ci/build-images.sh all             # all five
# Every image is cached by a hash of its recipe: a re-run with nothing changed takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNNER=${RUNNER_BIN:-.venv/bin/runner}
if [ ! -x "$RUNNER" ]; then
  make venv >/dev/null
fi
args=()
if [ $# -eq 0 ]; then
  args=(--only agent-base)
elif [ "$1" != all ]; then
  for name in "$@"; do args+=(--only "$name"); done
fi
start=$(date +%s)
"$RUNNER" images build "${args[@]}"
echo "build-images: done in $(( $(date +%s) - start )) s"
