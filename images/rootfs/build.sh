#!/usr/bin/env bash
# Make the root filesystem runner's images start FROM when no registry is reachable:
# Debian bookworm (minbase) + python3 + venv + CA certificates, as a tar for `docker import`.
#   bash images/rootfs/build.sh OUT.tar
# `runner images build` runs this and imports the tar as `<prefix>rootfs-bookworm:<recipe hash>`;
# the hash of this file is the recipe, so editing it makes the next build redo the rootfs.
set -euo pipefail
out=${1:?usage: build.sh OUT.tar}
exec mmdebstrap --variant=minbase \
  --include=python3,python3-venv,ca-certificates \
  --aptopt='APT::Install-Recommends "false"' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  bookworm "$out"
