#!/usr/bin/env bash
# Installs what the web UI's browser tests need (internal/web: TestBrowser):
# Debian's Chromium. Idempotent and quiet; run as root with no stdin.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
command -v chromium >/dev/null
