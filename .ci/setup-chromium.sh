#!/bin/sh
# Install the headless Chromium the HTML report tests open reports in (tests/observe/browser.py).
# Idempotent: nothing to do when /usr/bin/chromium is there. Debian's package, never a download.
set -eu
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends chromium fonts-dejavu-core
chromium --version | head -1
