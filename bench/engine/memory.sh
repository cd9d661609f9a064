#!/usr/bin/env bash
# memory.sh: resident memory of Stampede with 10,000 idle users, each of
# which has made one request and holds its keep-alive connection, against a
# local nginx. Prints VmRSS and VmHWM (peak) in MB and per user, against the
# 100 MB target; then stops Stampede with SIGINT and checks that it exits
# cleanly with every request counted.
#
#   bench/engine/memory.sh
#   USERS=20000 SPAWN_RATE=4000 bench/engine/memory.sh
#   MEMPROFILE=/tmp/heap.pprof bench/engine/memory.sh   # heap profile of the idle users
#
# Settings (environment):
#   USERS       idle users (default 10000)
#   SPAWN_RATE  users started per second (default 2000)
#   SETTLE      seconds to wait after the last user's request before the
#               first reading (default 10: the runner returns a big ramp's
#               garbage to the OS 5 s after the ramp)
#   IDLE        seconds the users then stay idle before the second reading
#               (default 130: the Go runtime forces a GC every 2 minutes when
#               nothing else triggers one, and returns freed memory to the OS
#               in the background; 0 skips the second reading)
#   TARGET_MB   the RSS budget to compare with (default 100)
#   TARGET_CPU, LOAD_CPU, PORT, STAMPEDE_BIN as in run.sh
#
# Not a test: it prints figures. Only loopback traffic, every wait bounded.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

USERS=${USERS:-10000}
SPAWN_RATE=${SPAWN_RATE:-2000}
SETTLE=${SETTLE:-10}
IDLE=${IDLE:-130}
TARGET_MB=${TARGET_MB:-100}
MEMPROFILE=${MEMPROFILE:-}
need_count USERS "$USERS"
need_count SPAWN_RATE "$SPAWN_RATE"
need_count TARGET_MB "$TARGET_MB"
[[ $SETTLE =~ ^[0-9]+$ ]] || die "SETTLE must be a whole number of seconds"
[[ $IDLE =~ ^[0-9]+$ ]] || die "IDLE must be a whole number of seconds"

WORK=$(mktemp -d /tmp/stampede-mem.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT TERM

check_cores
need_cmd taskset util-linux
need_cmd nginx nginx-light nginx
need_cmd python3 python3
if [ -n "${STAMPEDE_BIN:-}" ]; then
	STAMPEDE=$STAMPEDE_BIN
else
	build_stampede
fi

# One descriptor per user, on both sides, and some to spare.
want_fds=$((USERS + 4096))
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$want_fds" ]; then
	ulimit -Hn "$want_fds" 2>/dev/null || die "need $want_fds open files; raise the hard limit (ulimit -Hn)"
fi
ulimit -n "$want_fds"

start_nginx $((USERS + 1024))
HOST="http://127.0.0.1:$PORT"

# status_kb PID FIELD: a /proc/PID/status field in kB.
status_kb() {
	awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"
}

# idle_run N RATE NAME IDLE: start N idle users, wait until each has made
# its request, settle, and set RSS_KB, HWM_KB, THREADS; after IDLE more
# seconds (when > 0) set IDLE_RSS_KB; then SIGINT and check the exit.
# Figures of the run go to $WORK/NAME.*.
idle_run() {
	local n=$1 rate=$2 name=$3 idle=$4
	local prefix="$WORK/$name" bound=$((n / rate + 120))
	local extra=()
	if [ -n "$MEMPROFILE" ] && [ "$n" = "$USERS" ]; then
		extra=(--memprofile "$MEMPROFILE")
	fi
	log "$name: $n users at $rate/s against $HOST (core $LOAD_CPU)"
	# A run-time far beyond the measurement bounds the run even if the
	# SIGINT below were lost.
	taskset -c "$LOAD_CPU" "$STAMPEDE" run -f "$BENCH_DIR/idle.star" --headless \
		-u "$n" -r "$rate" -t $((bound + SETTLE + idle + 300))s --host "$HOST" --csv "$prefix" \
		--json "$prefix.json" --loglevel warn "${extra[@]}" >"$prefix.out" 2>&1 &
	local pid=$!
	PIDS+=("$pid")
	local start=$SECONDS users=0 reqs=0 fails=0
	while :; do
		kill -0 "$pid" 2>/dev/null || {
			tail -n 20 "$prefix.out" >&2
			die "$name: stampede exited early"
		}
		read -r users reqs fails < <(progress "$prefix")
		if [ "$users" -ge "$n" ] && [ "$reqs" -ge "$n" ]; then
			break
		fi
		[ $((SECONDS - start)) -lt "$bound" ] || die "$name: after ${bound}s only $users users and $reqs requests"
		sleep 0.5
	done
	UP_SECONDS=$((SECONDS - start))
	[ "$fails" = 0 ] || log "warning: $fails of $reqs requests failed (see $prefix.out)"
	sleep "$SETTLE"
	RSS_KB=$(status_kb "$pid" VmRSS)
	HWM_KB=$(status_kb "$pid" VmHWM)
	THREADS=$(status_kb "$pid" Threads)
	ANON_KB=$(status_kb "$pid" RssAnon)
	FILE_KB=$(status_kb "$pid" RssFile)
	IDLE_RSS_KB=
	if [ "$idle" -gt 0 ]; then
		log "$name: VmRSS ${RSS_KB} kB; idling ${idle}s more"
		sleep "$idle"
		kill -0 "$pid" 2>/dev/null || die "$name: stampede exited while idle"
		IDLE_RSS_KB=$(status_kb "$pid" VmRSS)
		HWM_KB=$(status_kb "$pid" VmHWM)
		ANON_KB=$(status_kb "$pid" RssAnon)
		FILE_KB=$(status_kb "$pid" RssFile)
	fi
	if [ -n "$MEMPROFILE" ] && [ "$n" = "$USERS" ]; then
		kill -USR1 "$pid"
		sleep 2
		cp "$MEMPROFILE" "$MEMPROFILE.idle" 2>/dev/null || true
	fi
	log "$name: all $n users up after ${UP_SECONDS}s; VmRSS ${RSS_KB} kB${IDLE_RSS_KB:+, after ${idle}s idle ${IDLE_RSS_KB} kB}, VmHWM ${HWM_KB} kB; stopping with SIGINT"
	local t0=$SECONDS rc=0
	kill -INT "$pid"
	# Bounded wait: a hung stop is killed and reported.
	local waited=0
	while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 1200 ]; do
		sleep 0.1
		waited=$((waited + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		die "$name: stampede did not exit within 120 s of SIGINT"
	fi
	wait "$pid" || rc=$?
	STOP_SECONDS=$((SECONDS - t0))
	STOP_RC=$rc
	# Exit 3: interrupted before the run time was over, as documented.
	if [ "$rc" != 3 ]; then
		tail -n 20 "$prefix.out" >&2
		die "$name: exit code $rc after SIGINT, want 3 (interrupted before the run time)"
	fi
	read -r TOTAL_REQS TOTAL_FAILS < <(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["stats"]["total"]; print(t["num_requests"], t["num_failures"])' "$prefix.json")
	[ "$TOTAL_REQS" -ge "$n" ] || die "$name: the JSON summary counts $TOTAL_REQS requests, want >= $n"
}

idle_run 1 1 baseline 0
base_rss=$RSS_KB base_anon=$ANON_KB base_file=$FILE_KB
idle_run "$USERS" "$SPAWN_RATE" idle "$IDLE"

mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
per_user() { awk -v r="$1" -v n="$USERS" 'BEGIN{printf "%.1f", r/n}'; }
# The steady figure: after the idle wait when there was one.
steady=${IDLE_RSS_KB:-$RSS_KB}
marginal=$(awk -v r="$steady" -v b="$base_rss" -v n="$USERS" 'BEGIN{printf "%.1f", (r-b)/(n-1)}')
verdict() { awk -v r="$1" -v t="$TARGET_MB" 'BEGIN{print (r <= t*1024) ? "meets" : "MISSES"}'; }

echo
printf 'Stampede idle-user memory: %s users (one request each, then constant(3600)), spawned at %s/s, nginx on core %s, stampede on core %s\n' \
	"$USERS" "$SPAWN_RATE" "$TARGET_CPU" "$LOAD_CPU"
printf '%s, %s, go %s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')" "$(go env GOVERSION 2>/dev/null || echo '?')"
printf '%-34s %s\n' "users up and requested after" "${UP_SECONDS} s"
printf '%-34s %s MB\n' "VmRSS with 1 user (baseline)" "$(mb "$base_rss")"
printf '%-40s %s MB (%s KB per user)\n' "VmRSS ${SETTLE} s after the last request" "$(mb "$RSS_KB")" "$(per_user "$RSS_KB")"
if [ -n "$IDLE_RSS_KB" ]; then
	printf '%-40s %s MB (%s KB per user)\n' "VmRSS after $((SETTLE + IDLE)) s idle" "$(mb "$IDLE_RSS_KB")" "$(per_user "$IDLE_RSS_KB")"
fi
printf '%-40s %s MB (%s KB per user)\n' "VmHWM (peak, during the ramp)" "$(mb "$HWM_KB")" "$(per_user "$HWM_KB")"
printf '%-40s %s MB anonymous + %s MB file-backed (baseline %s + %s)\n' "last VmRSS split" "$(mb "$ANON_KB")" "$(mb "$FILE_KB")" "$(mb "$base_anon")" "$(mb "$base_file")"
printf '%-40s %s KB\n' "marginal per idle user (minus baseline)" "$marginal"
printf '%-40s %s\n' "OS threads" "$THREADS"
printf '%-40s exit %s after %s s, %s requests, %s failed\n' "SIGINT stop" "$STOP_RC" "$STOP_SECONDS" "$TOTAL_REQS" "$TOTAL_FAILS"
echo
if [ -n "$IDLE_RSS_KB" ]; then
	printf '%s idle users: %s MB after %s s idle %s the %s MB target' "$USERS" "$(mb "$IDLE_RSS_KB")" "$((SETTLE + IDLE))" "$(verdict "$IDLE_RSS_KB")" "$TARGET_MB"
	printf '; %s MB %s s after the ramp %s it; the ramp peaked at %s MB.\n' "$(mb "$RSS_KB")" "$SETTLE" "$(verdict "$RSS_KB")" "$(mb "$HWM_KB")"
else
	printf '%s idle users: %s MB %s s after the ramp %s the %s MB target; the ramp peaked at %s MB.\n' \
		"$USERS" "$(mb "$RSS_KB")" "$SETTLE" "$(verdict "$RSS_KB")" "$TARGET_MB" "$(mb "$HWM_KB")"
fi
