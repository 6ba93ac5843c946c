#!/usr/bin/env bash
# Make the root filesystem runner's images start FROM when no registry is reachable:
# Debian bookworm (minbase) + python3 + venv + CA certificates + git, as a tar for `docker import`.
# (git: an agent server diffs a task's workspace with it, docs/protocol.md "Workspaces".)
#   bash images/rootfs/build.sh OUT.tar
# `runner images build` runs this and imports the tar as `<prefix>rootfs-bookworm:<recipe hash>`;
# the hash of this file is the recipe, so editing it makes the next build redo the rootfs.
set -euo pipefail
out=${1:?usage: build.sh OUT.tar}
exec mmdebstrap --variant=minbase \
  --include=python3,python3-venv,ca-certificates,git \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  bookworm "$out"
