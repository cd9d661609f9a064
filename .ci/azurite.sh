#!/usr/bin/env bash
# shellcheck disable=SC2317  # the `exit 1` after `return 1` is for when this file is run, not sourced
# Installs Azurite (the Azure Storage emulator, npm package "azurite") and
# starts its blob service in the background on loopback, for the
# --results-url upload tests (internal/results, internal/cli).
#
#   source .ci/azurite.sh     # exports STAMPEDE_TEST_AZURITE for the tests
#   bash .ci/azurite.sh       # prints the export line
#
# Idempotent and quiet: an installed Azurite is reused, and a blob port
# that already answers is taken as a running Azurite. Needs node and npm.
# Environment: AZURITE_BLOB_PORT (default 10000), AZURITE_DIR (install
# folder, default /opt/stampede-ci/azurite).
(
set -euo pipefail
version=3.37.0
port="${AZURITE_BLOB_PORT:-10000}"
dir="${AZURITE_DIR:-/opt/stampede-ci/azurite}"

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

if answers; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "azurite.sh: npm is not installed; Azurite needs node and npm" >&2
  exit 1
fi
bin="$dir/node_modules/.bin/azurite-blob"
if [ ! -x "$bin" ]; then
  mkdir -p "$dir"
  npm install --prefix "$dir" --silent --no-audit --no-fund --no-update-notifier "azurite@$version" >/dev/null 2>"$dir/npm-install.log" || {
    echo "azurite.sh: npm install azurite@$version failed:" >&2
    tail -20 "$dir/npm-install.log" >&2
    exit 1
  }
fi
data="$(mktemp -d "${TMPDIR:-/tmp}/azurite-data.XXXXXX")"
nohup "$bin" --blobHost 127.0.0.1 --blobPort "$port" --location "$data" --silent --skipApiVersionCheck --loose \
  >"$data/azurite.log" 2>&1 </dev/null &
for _ in $(seq 1 120); do
  if answers; then
    exit 0
  fi
  sleep 0.5
done
echo "azurite.sh: Azurite did not answer on 127.0.0.1:$port within 60 s; its log:" >&2
tail -20 "$data/azurite.log" >&2
exit 1
) || { return 1 2>/dev/null || exit 1; }  # return when sourced, exit when run
export STAMPEDE_TEST_AZURITE="http://127.0.0.1:${AZURITE_BLOB_PORT:-10000}"
# When run rather than sourced, say what to export.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  echo "export STAMPEDE_TEST_AZURITE=$STAMPEDE_TEST_AZURITE"
fi
