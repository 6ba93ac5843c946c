#!/bin/sh
# Install the etcd server the etcd tests start (they start their own on free loopback ports).
# Idempotent; nothing is started here (apt never starts services on these machines anyway).
set -eu
if command -v etcd >/dev/null 2>&1 || [ -x /usr/bin/etcd ]; then
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq etcd-server etcd-client
etcd --version | head -1
