#!/usr/bin/env bash
# Try a multi-region Stampede test on one Linux machine (as root): three
# network namespaces with 10, 80 and 250 ms of added latency, a worker in
# each, the master and the built-in demo shop on loopback.
#
#   sudo deploy/local/multi-region.sh                  # 30 users, 30 s
#   sudo deploy/local/multi-region.sh -u 60 -r 20 -t 1m --csv /tmp/out/run
#
# Arguments go to `stampede master`. REGIONS, SCRIPT, WORKERS_PER_REGION
# and STAMPEDE_BIN (a built binary; default: build one) may be set in the
# environment. Needs Go and iproute2.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$#" -eq 0 ]; then
  set -- -u 30 -r 10 -t 30s
fi
exec go run ./deploy/local/regions \
  -bin "${STAMPEDE_BIN:-}" \
  -f "${SCRIPT:-examples/shop.star}" \
  -regions "${REGIONS:-eu=10ms,us=80ms,ap=250ms}" \
  -workers-per-region "${WORKERS_PER_REGION:-1}" \
  -- "$@"
