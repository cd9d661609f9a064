#!/usr/bin/env bash
# run.sh: requests/s of wrk, hey, Locust (FastHttpUser) and Stampede (default
# HTTP/1.1 client and the --http2 net/http client) against one local nginx,
# measured in the same run, on the same pinned cores, and each tool's ratio
# to wrk.
#
#   bench/engine/run.sh                      # 10 s per tool, 50 connections
#   DURATION=20 CONNS=100 ROUNDS=3 bench/engine/run.sh
#   TOOLS="wrk stampede" bench/engine/run.sh
#   TARGET=return200 TOOLS="wrk stampede" SYSCALLS=1 bench/engine/run.sh
#
# Settings (environment):
#   DURATION   seconds each tool runs (default 10)
#   CONNS      connections / users / workers of every tool (default 50)
#   ROUNDS     measure every tool this many times, interleaved; the table
#              shows the best round and every round (default 1)
#   TOOLS      which tools, in order (default: wrk hey locust stampede stampede-http2;
#              stampede-go is loop.star's user written in Go, bench/engine/gouser)
#   TARGET_CPU core of nginx (default 0); LOAD_CPU core of the tools (default 1)
#   PORT       nginx port on 127.0.0.1 (default 18480)
#   TARGET     static (a 75-byte file, default) or return200 (nginx answers
#              `return 200 "hello world\n"` from memory: the generator-bound
#              case, with issue 13's targets of 0.75x wrk and 0.8x wrk per
#              CPU-second)
#   SYSCALLS   1: after the rounds, run each tool once more under
#              `perf stat -e 'syscalls:sys_enter_*'` and print its system
#              calls per request
#   CPUPROFILE write a CPU profile of the default-client Stampede run here
#   STAMPEDE_BIN use this stampede binary instead of building one
#
# Not a test: it prints figures. Only loopback traffic, every run bounded.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DURATION=${DURATION:-10}
CONNS=${CONNS:-50}
ROUNDS=${ROUNDS:-1}
TOOLS=${TOOLS:-wrk hey locust stampede stampede-http2}
CPUPROFILE=${CPUPROFILE:-}
SYSCALLS=${SYSCALLS:-}

need_count DURATION "$DURATION"
need_count CONNS "$CONNS"
need_count ROUNDS "$ROUNDS"

WORK=$(mktemp -d /tmp/stampede-bench.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT TERM

check_cores
need_cmd taskset util-linux
need_cmd nginx nginx-light nginx
need_cmd python3 python3
[ -z "$SYSCALLS" ] || need_cmd perf linux-perf
for t in $TOOLS; do
	case $t in
	wrk) need_cmd wrk wrk ;;
	hey) need_cmd hey hey ;;
	locust) need_cmd locust python3-locust ;;
	stampede | stampede-http2 | stampede-go) ;;
	*) die "unknown tool $t (wrk hey locust stampede stampede-http2 stampede-go)" ;;
	esac
done
if [ -n "${STAMPEDE_BIN:-}" ]; then
	STAMPEDE=$STAMPEDE_BIN
else
	build_stampede
fi
if [[ " $TOOLS " == *" stampede-go "* ]]; then
	(cd "$REPO" && go build -o "$WORK/stampede-go" ./bench/engine/gouser) || die "go build of bench/engine/gouser failed"
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

start_nginx 4096
URL="http://127.0.0.1:$PORT/"
# A hard bound on every tool's run: its duration plus start and stop time.
BOUND=$((DURATION + 60))

# load CMD...: run a load generator pinned to LOAD_CPU, bounded in time,
# and write the CPU time it used (user + system, seconds) to $WORK/cpu.
load() {
	local rc=0
	(
		rc=0
		timeout -k 5 "$BOUND" taskset -c "$LOAD_CPU" "$@" || rc=$?
		# times' second line: user and system time of this subshell's children.
		# (Not piped: a pipeline's builtin runs in a fork, which has no children.)
		times >"$WORK/times"
		awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } printf "%.3f\n", t }' "$WORK/times" >"$WORK/cpu"
		exit "$rc"
	) || rc=$?
	return "$rc"
}

# Each measure_* prints requests/s on stdout (and keeps the tool's output
# in $WORK/<tool>.<round>.out); wrk and Stampede also write their number
# of requests to $WORK/requests. WRAP is what runs the tool: load, or
# perf counting its system calls.
WRAP=(load)

measure_wrk() {
	local out=$1
	"${WRAP[@]}" wrk -t1 -c"$CONNS" -d"${DURATION}s" "$URL" >"$out" 2>&1
	awk '/ requests in / {print $1}' "$out" >"$WORK/requests"
	awk '/^Requests\/sec:/ {print $2}' "$out"
}

measure_hey() {
	local out=$1
	"${WRAP[@]}" hey -z "${DURATION}s" -c "$CONNS" "$URL" >"$out" 2>&1
	awk '/Requests\/sec:/ {print $2}' "$out"
}

measure_locust() {
	local out=$1
	local csv="$WORK/locust"
	rm -f "${csv}"_*.csv
	# Locust warns above 100 users/s; the spawn is over in the first second.
	"${WRAP[@]}" locust -f "$BENCH_DIR/locustfile.py" --headless -u "$CONNS" -r "$CONNS" \
		-t "${DURATION}s" --host "${URL%/}" --csv "$csv" --only-summary \
		--loglevel WARNING --stop-timeout 1 >"$out" 2>&1 || true
	# The "Aggregated" row's "Requests/s" column.
	python3 - "${csv}_stats.csv" <<'EOF'
import csv, sys
with open(sys.argv[1], newline="") as f:
    for row in csv.DictReader(f):
        if row["Name"] == "Aggregated":
            print(row["Requests/s"])
EOF
}

# measure_stampede OUT BIN [FLAGS...]: requests / duration from the JSON
# summary. BIN is $STAMPEDE, which runs loop.star, or stampede-go, whose
# user is written in Go.
measure_stampede() {
	local out=$1 bin=$2
	shift 2
	local json="$WORK/stampede.json" script=()
	rm -f "$json"
	[ "$bin" != "$STAMPEDE" ] || script=(-f "$BENCH_DIR/loop.star")
	"${WRAP[@]}" "$bin" run "${script[@]}" --headless -u "$CONNS" -r 100000 \
		-t "${DURATION}s" --host "${URL%/}" --json "$json" --loglevel warn "$@" >"$out" 2>&1
	python3 - "$json" "$WORK/requests" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
n, s = d["stats"]["total"]["num_requests"], d["run"]["duration_seconds"]
f = d["stats"]["total"]["num_failures"]
if f:
    print(f"stampede: {f} of {n} requests failed", file=sys.stderr)
open(sys.argv[2], "w").write(f"{n}\n")
print(f"{n / s:.2f}")
EOF
}

measure() {
	local tool=$1 round=$2
	local out="$WORK/$tool.$round.out"
	case $tool in
	wrk) measure_wrk "$out" ;;
	hey) measure_hey "$out" ;;
	locust) measure_locust "$out" ;;
	stampede)
		if [ -n "$CPUPROFILE" ] && [ "$round" = 1 ]; then
			measure_stampede "$out" "$STAMPEDE" --cpuprofile "$CPUPROFILE"
		else
			measure_stampede "$out" "$STAMPEDE"
		fi
		;;
	stampede-http2) measure_stampede "$out" "$STAMPEDE" --http2 ;;
	stampede-go) measure_stampede "$out" "$WORK/stampede-go" ;;
	esac
}

log "warming up nginx (2 s of Stampede load)"
timeout -k 5 30 taskset -c "$LOAD_CPU" "$STAMPEDE" run -f "$BENCH_DIR/loop.star" --headless \
	-u "$CONNS" -r 100000 -t 2s --host "${URL%/}" --loglevel error >/dev/null 2>&1 || true

# best: highest requests/s per tool; all: every round's; per_cpu: the
# highest requests per CPU-second of the tool's own process.
declare -A best all per_cpu
for round in $(seq 1 "$ROUNDS"); do
	for tool in $TOOLS; do
		log "round $round/$ROUNDS: $tool (${DURATION}s, $CONNS connections, core $LOAD_CPU)"
		rm -f "$WORK/cpu"
		rps=$(measure "$tool" "$round" || true)
		if ! [[ $rps =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
			printf 'warning: %s gave no requests/s; its output:\n' "$tool" >&2
			tail -n 20 "$WORK/$tool.$round.out" >&2 || true
			rps=0
		fi
		cpu=$(cat "$WORK/cpu" 2>/dev/null || echo 0)
		pc=$(awk -v r="$rps" -v d="$DURATION" -v c="$cpu" 'BEGIN{ if (c > 0) printf "%.0f", r * d / c; else print 0 }')
		all[$tool]="${all[$tool]:-}${all[$tool]:+ }$(printf '%.0f' "$rps")"
		if awk -v a="$rps" -v b="${best[$tool]:-0}" 'BEGIN{exit !(a>b)}'; then
			best[$tool]=$rps
		fi
		if [ "$pc" -gt "${per_cpu[$tool]:-0}" ]; then
			per_cpu[$tool]=$pc
		fi
		sleep 1 # let TIME_WAIT and the target settle between tools
	done
done

# ratio A B: A/B with two decimals, "-" when B is 0 or missing.
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "-" }'; }

# syscalls TOOL: run TOOL once more with its system calls counted, and
# print the ones made at least 0.01 times per request.
syscalls() {
	local tool=$1 perf="$WORK/perf.$1.csv"
	rm -f "$WORK/requests"
	WRAP=(timeout -k 5 "$BOUND" taskset -c "$LOAD_CPU" perf stat -e 'syscalls:sys_enter_*' -x ',' -o "$perf" --)
	measure "$tool" syscalls >/dev/null || true
	WRAP=(load)
	local n
	n=$(cat "$WORK/requests" 2>/dev/null || echo 0)
	[ "$n" -gt 0 ] || {
		printf '%-16s (no request count)\n' "$tool"
		return
	}
	awk -F, -v n="$n" -v tool="$tool" '
		$3 ~ /^syscalls:sys_enter_/ && $1 + 0 > 0 {
			name = substr($3, 20); total += $1
			if ($1 / n >= 0.01) { out = out sprintf(" %s %.2f", name, $1 / n) }
		}
		END { printf "%-16s %6.2f  %s  (%d requests)\n", tool, total / n, out, n }' "$perf"
}

wrk_rps=${best[wrk]:-}
wrk_cpu=${per_cpu[wrk]:-}
echo
printf 'Stampede engine benchmark: %s s per tool, %s connections/users, target nginx (1 worker, %s) on core %s, tools on core %s, %s round(s)\n' \
	"$DURATION" "$CONNS" "$TARGET" "$TARGET_CPU" "$LOAD_CPU" "$ROUNDS"
printf '%s, %s, go %s, load average %s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" \
	"$(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')" \
	"$(go env GOVERSION 2>/dev/null || echo '?')" "$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-16s %12s %8s %14s %8s   %s\n' tool "requests/s" "÷ wrk" "req/CPU-second" "÷ wrk" "requests/s of every round"
for tool in $TOOLS; do
	printf '%-16s %12.0f %8s %14s %8s   %s\n' "$tool" "${best[$tool]:-0}" "$(ratio "${best[$tool]:-}" "$wrk_rps")" \
		"${per_cpu[$tool]:-0}" "$(ratio "${per_cpu[$tool]:-}" "$wrk_cpu")" "${all[$tool]:-}"
done
# verdict RATIO GOAL: "meets" or "MISSES".
verdict() { awk -v r="$1" -v g="$2" 'BEGIN{print (r != "-" && r >= g) ? "meets" : "MISSES"}'; }
if [ -n "$wrk_rps" ] && [ -n "${best[stampede]:-}" ]; then
	r=$(ratio "${best[stampede]}" "$wrk_rps")
	rc=$(ratio "${per_cpu[stampede]:-}" "$wrk_cpu")
	if [ "$TARGET" = return200 ]; then
		printf '\nStampede (default client), generator-bound: %s× wrk requests/s (%s the 0.75× target), %s× wrk per CPU-second (%s the 0.8× target).\n' \
			"$r" "$(verdict "$r" 0.75)" "$rc" "$(verdict "$rc" 0.8)"
	else
		printf '\nStampede (default client) at %s× wrk %s the 0.6× target' "$r" "$(verdict "$r" 0.6)"
		printf ' (%s× wrk per CPU-second of the load generator).\n' "$rc"
	fi
fi
if [ -n "$wrk_cpu" ] && [ -n "${per_cpu[stampede-go]:-}" ]; then
	rc=$(ratio "${per_cpu[stampede-go]}" "$wrk_cpu")
	printf 'Stampede Go users (bench/engine/gouser): %s× wrk per CPU-second (%s the 0.85× target), %s× wrk requests/s.\n' \
		"$rc" "$(verdict "$rc" 0.85)" "$(ratio "${best[stampede-go]:-}" "$wrk_rps")"
fi
if [ -n "$SYSCALLS" ]; then
	printf '\nSystem calls per request (perf stat, one more %s s run each; total, then each >= 0.01):\n' "$DURATION"
	for tool in $TOOLS; do
		case $tool in wrk | stampede | stampede-http2 | stampede-go) syscalls "$tool" ;; esac
	done
fi
