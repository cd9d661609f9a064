#!/usr/bin/env bash
# Runs a real load test against the built-in demo target: starts
# `stampede demo` on loopback, runs examples/shop.star headless for 15 s,
# writes results to out/demo_*.csv and out/demo.json, stops the target.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x ./stampede ] || go build -o stampede ./cmd/stampede
port=${DEMO_PORT:-8080}
./stampede demo --addr "127.0.0.1:$port" &
demo=$!
trap 'kill "$demo" 2>/dev/null; wait "$demo" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done
# The demo shop fails 1% of checkouts on purpose, so that the failures tab
# has something in it: they do not fail the demo (--exit-code-on-error 0).
./stampede run -f examples/shop.star --headless -u 20 -r 10 -t 15s \
  --host "http://127.0.0.1:$port" --csv out/demo --json out/demo.json --exit-code-on-error 0 "$@"
echo "Results: out/demo_stats.csv, out/demo_stats_history.csv, out/demo_failures.csv, out/demo_exceptions.csv, out/demo.json"
