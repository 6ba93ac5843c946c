#!/usr/bin/env bash
# The Docker engine the docker tests use, and what builds runner's images here. Idempotent:
#   - installs Debian's docker.io (dockerd + /usr/bin/docker) and mmdebstrap when missing;
#   - starts dockerd when `/usr/bin/docker info` fails (apt never starts services here), and
#     never a second one; waits until it answers (at most 60 s);
#   - builds the agent-base image (cached by recipe hash: seconds when nothing changed).
# Set RUNNER_SKIP_IMAGE_BUILD=1 to skip the build.
set -euo pipefail
cd "$(dirname "$0")/.."
DOCKER=${RUNNER_DOCKER_CLIENT:-/usr/bin/docker}

need=()
{ [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ]; } || need+=(docker.io)
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup-docker: installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${need[@]}" >/dev/null
fi

if ! "$DOCKER" info >/dev/null 2>&1; then
  if pgrep -x dockerd >/dev/null; then
    echo "setup-docker: dockerd runs but does not answer yet; waiting"
  else
    echo "setup-docker: starting dockerd (log: /tmp/dockerd.log)"
    setsid nohup dockerd >/tmp/dockerd.log 2>&1 < /dev/null &
  fi
  for _ in $(seq 1 120); do
    "$DOCKER" info >/dev/null 2>&1 && break
    sleep 0.5
  done
  if ! "$DOCKER" info >/dev/null 2>&1; then
    echo "setup-docker: dockerd did not become ready in 60 s; last log lines:" >&2
    tail -20 /tmp/dockerd.log >&2 || true
    exit 1
  fi
fi
echo "setup-docker: engine $("$DOCKER" version --format '{{.Server.Version}}') ready"

if [ "${RUNNER_SKIP_IMAGE_BUILD:-0}" != 1 ]; then
  bash .ci/build-images.sh
fi
