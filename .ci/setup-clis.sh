#!/usr/bin/env bash
# Install the four real agent CLIs at pinned versions into a cache prefix shared by every
# checkout on the machine (~/.cache/runner/clis, or $RUNNER_CLIS_PREFIX), idempotently: no
# global npm pollution, aider in its own venv because it pins many dependencies that would
# clash with the project's venv. Binaries end up in <prefix>/bin (claude, codex, gemini, aider);
# the agent types look there after PATH. Seconds when already installed; ~2 min otherwise.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PREFIX="${RUNNER_CLIS_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/runner/clis}"
PY="${RUNNER_PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}"
CLAUDE_VER=2.1.332
CODEX_VER=0.169.0
GEMINI_VER=0.61.0
AIDER_VER=0.86.2
mkdir -p "$PREFIX/bin"
start=$(date +%s)

have_npm() {  # package version -> 0 when already installed at that version
  local f="$PREFIX/lib/node_modules/$1/package.json"
  [ -f "$f" ] && grep -q "\"version\": \"$2\"" "$f"
}
need=()
have_npm @anthropic-ai/claude-code "$CLAUDE_VER" || need+=("@anthropic-ai/claude-code@$CLAUDE_VER")
have_npm @openai/codex "$CODEX_VER" || need+=("@openai/codex@$CODEX_VER")
have_npm @google/gemini-cli "$GEMINI_VER" || need+=("@google/gemini-cli@$GEMINI_VER")
if [ ${#need[@]} -gt 0 ]; then
  # claude 2.1.332 declares engines node>=22 but runs on node 20 (native binary).
  npm install -g --prefix "$PREFIX" --no-fund --no-audit --engine-strict=false "${need[@]}"
fi

if ! "$PREFIX/aider-venv/bin/aider" --version 2>/dev/null | grep -q "$AIDER_VER"; then
  "$PY" -m venv "$PREFIX/aider-venv"
  "$PREFIX/aider-venv/bin/pip" install -q --disable-pip-version-check "aider-chat==$AIDER_VER"
fi
ln -sf "$PREFIX/aider-venv/bin/aider" "$PREFIX/bin/aider"
echo "setup-clis: done in $(( $(date +%s) - start )) s; binaries in $PREFIX/bin"
