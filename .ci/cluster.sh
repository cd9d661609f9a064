#!/usr/bin/env bash
# Installs what the distributed-mode tests need (internal/cluster): iproute2
# for the network namespaces of the multi-region latency test (which must
# run as root in CI), and protoc for `go generate ./internal/cluster/pb`.
# Idempotent and quiet; run as root.
set -euo pipefail
need=()
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
if ((${#need[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
