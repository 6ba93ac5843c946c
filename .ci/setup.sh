#!/usr/bin/env bash
# Everything the test suite needs that pip does not install: system packages and services.
# Idempotent and quick when already done. Each part has its own script.
set -euo pipefail
cd "$(dirname "$0")/.."
for part in .ci/setup-*.sh; do
  [ -e "$part" ] || continue
  echo "== $part"
  bash "$part"
done
