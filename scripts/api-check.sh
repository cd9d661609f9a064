#!/bin/bash
# api-check.sh: checks the endpoints of docs/api.md against the real binary:
# the demo target, a master with its web UI and two workers in two regions,
# all on loopback; every endpoint answers as documented, then edit, bad
# fields, reset and stop. Prints "ok" or "FAIL" per check; exits 1 on a FAIL.
#
#   go build -o /tmp/stampede ./cmd/stampede && scripts/api-check.sh /tmp/stampede
set -u
BIN=${1:?usage: api-check.sh STAMPEDE_BINARY}
DIR=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$DIR"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
DEMO=$(port); WEB=$(port); MP=$(port)
B=http://127.0.0.1:$WEB
"$BIN" demo --addr 127.0.0.1:$DEMO >"$DIR/demo.log" 2>&1 & PIDS+=($!)
sed "s#http://127.0.0.1:8080#http://127.0.0.1:$DEMO#" "$(dirname "$0")/../examples/shop.star" >"$DIR/shop.star"
"$BIN" master -f "$DIR/shop.star" --master-bind-host 127.0.0.1 --master-bind-port $MP --web-host 127.0.0.1 --web-port $WEB \
  -u 6 -r 6 --var max_page=12 >"$DIR/master.log" 2>&1 & PIDS+=($!)
for r in eu-west us-east; do
  "$BIN" worker --master-host 127.0.0.1 --master-port $MP --region $r >"$DIR/worker-$r.log" 2>&1 & PIDS+=($!)
done
FAILS=0
ok() { echo "ok   $*"; }; bad() { echo "FAIL $*"; FAILS=$((FAILS+1)); }
j() { python3 -c "import json,sys; d=json.load(sys.stdin); $1" ; }
for _ in $(seq 100); do
  curl -sf $B/stats/requests 2>/dev/null | j 'assert d["worker_count"]==2' 2>/dev/null && break; sleep 0.2
done
curl -sf $B/stats/requests | j 'assert d["state"]=="ready" and [w["state"] for w in d["workers"]]==["ready","ready"]' && ok "two workers ready before a test" || bad "workers before a test"
curl -s -X POST -d user_count=6 -d spawn_rate=6 $B/swarm | grep -q '"success":true' && ok "swarm start" || bad "swarm start"
sleep 4
curl -sf $B/api/info | j 'assert d["user_classes"]==["browser","buyer"] and "percentiles" in d and d["vars"]' && ok api/info || bad api/info
curl -sf $B/stats/requests | j 'r=d["stats"]; assert r[-1]["name"]=="Aggregated" and r[-1]["method"] is None; assert d["state"] in ("running","stopped","ready"); assert d["worker_count"]==2 and len(d["regions"])==2; assert all(k in r[0] for k in ["num_requests","current_rps","response_time_percentile_0.95","response_time_percentile_0.99","avg_content_length"]); w=d["workers"][0]; assert all(k in w for k in ["id","region","state","user_count","cpu_usage","memory_usage","last_heartbeat"]), w' && ok stats/requests || bad stats/requests
curl -sf $B/exceptions | j 'assert "exceptions" in d' && ok exceptions || bad exceptions
curl -sf $B/tasks | j 'assert set(d)=={"per_class","total"}; assert abs(sum(v["ratio"] for v in d["total"].values())-1)<1e-9' && ok tasks || bad tasks
curl -sf $B/logs | j 'assert set(d)>={"master","workers","regions"}; assert len(d["workers"])==2 and set(d["regions"].values())=={"eu-west","us-east"}; import re; assert re.match(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] [A-Z]+: ", d["master"][0]), d["master"][0]' && ok logs || bad logs
for p in stats/requests/csv stats/failures/csv exceptions/csv stats/regions/csv stats/requests_full_history/csv; do
  h=$(curl -sf -D - -o "$DIR/dl.csv" $B/$p | tr -d '\r' | grep -i '^content-disposition'); head -1 "$DIR/dl.csv" | grep -q , && ok "$p ($h) $(head -c 60 "$DIR/dl.csv" | head -1)" || bad $p
done
curl -sf $B/stats/summary.json | j 'assert d["format"]=="stampede-summary/1"' && ok summary.json || bad summary.json
curl -sf -D "$DIR/h" $B/stats/report | grep -q "<html" && grep -qi "^content-security-policy: default-src 'none'; script-src 'sha256-" "$DIR/h" && ok "report (its own scripts allowed)" || bad report
curl -sf -D - -o /dev/null "$B/stats/report?download=1" | grep -qi "content-disposition: attachment" && ok "report?download=1" || bad "report?download=1"
curl -sf $B/metrics | grep -q "^stampede_" && ok "metrics $(curl -sf $B/metrics | grep -c '^stampede_') lines" || bad metrics
timeout 4 curl -sN $B/api/events | grep -a -m1 -q "^data: {" && ok api/events || bad api/events
curl -sf -o /dev/null $B/assets/app.js && curl -sf -o /dev/null $B/assets/vendor/uplot/uPlot.iife.min.js && ok assets || bad "assets $(curl -s -o /dev/null -w "%{http_code}" $B/assets/vendor/uplot/uPlot.iife.min.js)"
# Changing state: edit, bad field, reset, stop, stop again.
r=$(curl -s -X POST -d user_count=10 $B/swarm); echo "$r" | grep -q '"success":true' && ok "swarm edit" || bad "swarm edit: $r"
r=$(curl -s -w ' %{http_code}' -X POST -d spawn_rate=0 -d user_count=1 $B/swarm | tr -d '\n'); echo "$r" | grep -q ' 400$' && ok "swarm bad: $r" || bad "swarm bad: $r"
r=$(curl -s -w ' %{http_code}' -X POST -d var.nope=1 -d user_count=1 $B/swarm | tr -d '\n'); echo "$r" | grep -q ' 400$' && ok "swarm var: $r" || bad "swarm var: $r"
r=$(curl -s -w ' %{http_code}' -X POST $B/stats/reset | tr -d '\n'); echo "$r" | grep -q ' 200$' && ok "reset: $r" || bad "reset: $r"
r=$(curl -s -X POST $B/stop); echo "$r" | grep -q '"state":"stopped"' && ok "stop: $r" || bad "stop: $r"
r=$(curl -s -w ' %{http_code}' -X POST $B/stop | tr -d '\n'); echo "$r" | grep -q ' 200$' && ok "stop again: $r" || bad "stop again: $r"
curl -sf $B/stats/requests | j 'assert d["state"]=="stopped" and d["total_rps"]==0 and all(r["current_rps"]==0 for r in d["stats"]), d["total_rps"]' && ok "stopped: no current rps" || bad "stopped current rps"
exit $((FAILS > 0))
