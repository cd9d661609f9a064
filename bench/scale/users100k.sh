#!/usr/bin/env bash
# users100k.sh: 100,000 users on one box. A master and 6 worker processes
# (each under the machine's 20,000 open files per process) ramp 100,000
# users; each makes one request on a keep-alive connection to a local nginx
# and then waits an hour holding it. Prints the ramp time, the RSS of every
# Stampede process and their sum (goal: at most 1 GB), what Stampede and
# nginx counted, then stops the master with SIGINT and checks its results.
#
#   bench/scale/users100k.sh
#   USERS=10000 bench/scale/users100k.sh
#   USERS=100000 SPAWN_RATE=4000 WORKERS=8 bench/scale/users100k.sh
#
# The target: one nginx with NGINX_WORKERS processes listening on TARGETS
# loopback addresses (127.0.0.2, 127.0.0.3, ...) at PORT, reuseport, so the
# connections spread over its processes. Users pick their address by id
# (idle.star): the connections to one address:port from one source
# address are bounded by the ephemeral port range (~28,000 here).
#
# Settings (environment):
#   USERS          users in all (default 100000)
#   WORKERS        worker processes (default 6)
#   SPAWN_RATE     users started per second, in all (default 5000)
#   TARGETS        nginx listening addresses (default 8)
#   NGINX_WORKERS  nginx worker processes (default 8)
#   PORT           nginx port (default 18490; PORT+1 on 127.0.0.1 serves
#                  stub_status)
#   MASTER_PORT    the master's worker port on 127.0.0.1 (default 15557)
#   SETTLE         seconds after the last request before the first RSS
#                  reading (default 10: the runner returns a big ramp's
#                  garbage to the OS 5 s after the ramp)
#   IDLE           seconds the users then stay idle before the second
#                  reading (default 60; 0 skips it)
#   RAMP_LIMIT     give up when the requests are not all counted after this
#                  many seconds (default USERS/SPAWN_RATE + 120)
#   TARGET_MB      the budget for all Stampede processes (default 1024)
#   STAMPEDE_BIN   use this stampede binary instead of building one
#   MEMPROFILE     write a heap profile of worker 1's idle users to this
#                  file (the hidden --memprofile, on SIGUSR1 before the stop;
#                  the Go runtime's view of its memory goes to the output)
#
# Not a test: it prints figures. Only loopback traffic, every wait bounded,
# everything it started is stopped on exit.
set -euo pipefail

# Before common.sh, which has its own default.
PORT=${PORT:-18490}
# shellcheck source-path=SCRIPTDIR source=../engine/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../engine/common.sh"
SCALE_DIR="$REPO/bench/scale"

USERS=${USERS:-100000}
WORKERS=${WORKERS:-6}
SPAWN_RATE=${SPAWN_RATE:-5000}
TARGETS=${TARGETS:-8}
NGINX_WORKERS=${NGINX_WORKERS:-8}
MASTER_PORT=${MASTER_PORT:-15557}
MEMPROFILE=${MEMPROFILE:-}
SETTLE=${SETTLE:-10}
IDLE=${IDLE:-60}
TARGET_MB=${TARGET_MB:-1024}
for v in USERS WORKERS SPAWN_RATE TARGETS NGINX_WORKERS PORT MASTER_PORT TARGET_MB; do
	need_count "$v" "${!v}"
done
[[ $SETTLE =~ ^[0-9]+$ ]] || die "SETTLE must be a whole number of seconds"
[[ $IDLE =~ ^[0-9]+$ ]] || die "IDLE must be a whole number of seconds"
[ "$TARGETS" -le 250 ] || die "TARGETS must be at most 250 (127.0.0.2 to 127.0.0.251)"
[ "$PORT" -lt 65535 ] || die "PORT must be below 65535 (PORT+1 serves stub_status)"
RAMP_LIMIT=${RAMP_LIMIT:-$((USERS / SPAWN_RATE + 120))}
need_count RAMP_LIMIT "$RAMP_LIMIT"

# Open files: every user holds one connection in its worker, and nginx one
# per connection in one of its processes. Stay within the hard limit per
# process (20,000 on the machine this was written for) rather than raise it.
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=1048576
per_worker=$(((USERS + WORKERS - 1) / WORKERS + 1024))
[ "$per_worker" -le "$hard" ] || die "$((USERS / WORKERS)) users per worker need $per_worker open files, the hard limit is $hard: raise WORKERS"
# reuseport spreads connections over nginx's processes by hash: allow 25 %
# imbalance.
per_nginx=$((USERS * 5 / 4 / NGINX_WORKERS + 1024))
[ "$per_nginx" -le "$hard" ] || die "$USERS connections over $NGINX_WORKERS nginx processes need $per_nginx open files each, the hard limit is $hard: raise NGINX_WORKERS"
ulimit -n "$hard"
# Ephemeral ports: connections to one address:port from 127.0.0.1.
read -r port_lo port_hi < /proc/sys/net/ipv4/ip_local_port_range
ports=$((port_hi - port_lo + 1))
[ $((USERS / TARGETS + 1)) -le $((ports * 9 / 10)) ] ||
	die "$((USERS / TARGETS)) connections per target address exceed 90 % of the $ports ephemeral ports ($port_lo-$port_hi): raise TARGETS"

WORK=$(mktemp -d /tmp/stampede-users100k.XXXXXX)
trap cleanup EXIT
trap 'exit 130' INT TERM

need_cmd nginx nginx-light nginx
need_cmd python3 python3
if [ -n "${STAMPEDE_BIN:-}" ]; then
	STAMPEDE=$STAMPEDE_BIN
else
	build_stampede
fi

# start_target: nginx with NGINX_WORKERS processes on TARGETS addresses,
# stub_status on 127.0.0.1:PORT+1.
start_target() {
	local dir="$WORK/nginx" listens="" i
	mkdir -p "$dir/www" "$dir/tmp"
	chmod 755 "$WORK" "$dir" "$dir/www"
	printf '<!doctype html><title>bench</title><p>Hello from the benchmark target.</p>\n' >"$dir/www/index.html"
	chmod 644 "$dir/www/index.html"
	for ((i = 0; i < TARGETS; i++)); do
		listens+="        listen 127.0.0.$((2 + i)):$PORT backlog=65535 reuseport;"$'\n'
		if (exec 3<>"/dev/tcp/127.0.0.$((2 + i))/$PORT") 2>/dev/null; then
			die "127.0.0.$((2 + i)):$PORT is already in use; set PORT=..."
		fi
	done
	cat >"$dir/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
worker_rlimit_nofile $hard;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections $((hard - 512));
    multi_accept on;
}
http {
    access_log off;
    log_format conn '\$connection \$server_addr';
    keepalive_requests 100000000;
    keepalive_timeout 3600s;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    default_type text/html;
    server {
$listens        access_log $dir/access.log conn buffer=256k flush=1s;
        root $dir/www;
        index index.html;
    }
    server {
        listen 127.0.0.1:$((PORT + 1));
        location = /status { stub_status; }
        # The start-up probe: not in the load server's access log.
        location / { return 200 "ok\\n"; }
    }
}
EOF
	log "starting nginx: $NGINX_WORKERS processes on 127.0.0.2-127.0.0.$((1 + TARGETS)):$PORT"
	launch_nginx "$dir" "http://127.0.0.1:$((PORT + 1))/"
}

# nginx_open: the connections nginx has open (stub_status's "Active
# connections", less the one asking).
nginx_open() {
	local body
	exec 3<>"/dev/tcp/127.0.0.1/$((PORT + 1))" || die "stub_status did not answer"
	printf 'GET /status HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
	body=$(timeout 5 cat <&3)
	exec 3>&-
	awk '/^Active connections:/ {print $3 - 1}' <<<"$body"
}

# target_counts: "requests connections per-address" from the load
# server's access log (one line per request: connection serial, address).
target_counts() {
	awk '{req++; if (!($1 in c)) {c[$1]; conns++}; a[$2]++}
		END {s = ""; for (k in a) s = s (s == "" ? "" : ",") a[k]; print req + 0, conns + 0, s}' "$WORK/nginx/access.log"
}

status_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }

# rss_table: one line per Stampede process (VmRSS, VmHWM, RssAnon,
# RssFile, Pss in kB: Pss shares the executable's pages, which every
# process maps, among them) and the sums into SUM_RSS, SUM_HWM, SUM_PSS.
rss_table() {
	local pid name rss hwm anon file pss
	SUM_RSS=0 SUM_HWM=0 SUM_PSS=0 RSS_LINES=""
	for name in "${SP_NAMES[@]}"; do
		pid=${SP_PID[$name]}
		kill -0 "$pid" 2>/dev/null || die "$name (pid $pid) is gone"
		rss=$(status_kb "$pid" VmRSS) hwm=$(status_kb "$pid" VmHWM)
		anon=$(status_kb "$pid" RssAnon) file=$(status_kb "$pid" RssFile)
		pss=$(awk '$1 == "Pss:" {print $2}' "/proc/$pid/smaps_rollup")
		SUM_RSS=$((SUM_RSS + rss)) SUM_HWM=$((SUM_HWM + hwm)) SUM_PSS=$((SUM_PSS + pss))
		RSS_LINES+=$(printf '%-10s %9s %9s %9s %9s %9s %7s' "$name" "$(mb "$rss")" "$(mb "$hwm")" "$(mb "$anon")" "$(mb "$file")" "$(mb "$pss")" "$(status_kb "$pid" Threads)")$'\n'
	done
}
mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }

start_target

# The master, then the workers; the master starts the test when all have
# connected. The ramp is timed from the master's start.
declare -A SP_PID
SP_NAMES=(master)
run_time=$((RAMP_LIMIT + SETTLE + IDLE + 600))
log "master: $USERS users at $SPAWN_RATE/s over $WORKERS workers (run time bound ${run_time}s)"
t0=$(date +%s.%N)
"$STAMPEDE" master -f "$SCALE_DIR/idle.star" --headless --expect-workers "$WORKERS" \
	--expect-workers-max-wait 60s --master-bind-host 127.0.0.1 --master-bind-port "$MASTER_PORT" \
	-u "$USERS" -r "$SPAWN_RATE" -t "${run_time}s" --var targets="$TARGETS" --var port="$PORT" \
	--csv "$WORK/run" --json "$WORK/run.json" --loglevel warn >"$WORK/master.out" 2>&1 &
SP_PID[master]=$!
PIDS+=("$!")
for ((i = 1; i <= WORKERS; i++)); do
	extra=()
	if [ -n "$MEMPROFILE" ] && [ "$i" = 1 ]; then
		extra=(--memprofile "$MEMPROFILE")
	fi
	"$STAMPEDE" worker --master-host 127.0.0.1 --master-port "$MASTER_PORT" --name "w$i" \
		--loglevel warn "${extra[@]}" >"$WORK/worker$i.out" 2>&1 &
	SP_PID[w$i]=$!
	SP_NAMES+=("w$i")
	PIDS+=("$!")
done

users=0 reqs=0 fails=0 users_at=""
while :; do
	for name in "${SP_NAMES[@]}"; do
		kill -0 "${SP_PID[$name]}" 2>/dev/null || {
			tail -n 20 "$WORK/master.out" "$WORK"/worker*.out >&2
			die "$name exited early"
		}
	done
	read -r users reqs fails < <(progress "$WORK/run")
	now=$(date +%s.%N)
	if [ -z "$users_at" ] && [ "$users" -ge "$USERS" ]; then
		users_at=$now
	fi
	[ "$reqs" -ge "$USERS" ] && break
	awk -v n="$now" -v t="$t0" -v l="$RAMP_LIMIT" 'BEGIN{exit !(n - t > l)}' &&
		die "after ${RAMP_LIMIT}s only $users users and $reqs requests"
	sleep 0.5
done
ramp=$(awk -v n="$now" -v t="$t0" 'BEGIN{printf "%.1f", n - t}')
users_ramp=$(awk -v n="${users_at:-$now}" -v t="$t0" 'BEGIN{printf "%.1f", n - t}')
log "all $USERS requests counted after ${ramp}s ($users users, $fails failures); settling ${SETTLE}s"
sleep "$SETTLE"
rss_table
RSS1=$SUM_RSS HWM1=$SUM_HWM PSS1=$SUM_PSS
if [ "$IDLE" -gt 0 ]; then
	log "all processes: VmRSS $(mb "$RSS1") MB; idling ${IDLE}s more"
	sleep "$IDLE"
	rss_table
fi
open_conns=$(nginx_open)
if [ -n "$MEMPROFILE" ]; then
	kill -USR1 "${SP_PID[w1]}"
	sleep 3
	cp "$MEMPROFILE" "$MEMPROFILE.idle" 2>/dev/null || die "worker 1 wrote no $MEMPROFILE"
	log "heap profile of worker 1's idle users: $MEMPROFILE.idle; $(grep -h '^memprofile:' "$WORK/worker1.out" | tail -1)"
fi
read -r users reqs fails < <(progress "$WORK/run")

# Stop: SIGINT to the master, which stops the workers and writes its
# results; every process must be gone within 120 s.
log "stopping the master with SIGINT"
ts=$SECONDS
kill -INT "${SP_PID[master]}"
for name in "${SP_NAMES[@]}"; do
	pid=${SP_PID[$name]}
	while kill -0 "$pid" 2>/dev/null && [ $((SECONDS - ts)) -lt 120 ]; do sleep 0.2; done
	kill -0 "$pid" 2>/dev/null && die "$name did not exit within 120 s of the master's SIGINT"
done
stop_s=$((SECONDS - ts))
rc=0
wait "${SP_PID[master]}" || rc=$?
[ "$rc" = 3 ] || {
	tail -n 20 "$WORK/master.out" >&2
	die "master: exit code $rc after SIGINT, want 3 (interrupted before the run time)"
}
[ -s "$WORK/run_stats.csv" ] || die "the master wrote no run_stats.csv"
read -r total_reqs total_fails < <(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["stats"]["total"]; print(t["num_requests"], t["num_failures"])' "$WORK/run.json")

read -r target_reqs target_conns per_addr < <(target_counts)
verdict() { awk -v r="$1" -v t="$TARGET_MB" 'BEGIN{print (r <= t*1024) ? "meets" : "MISSES"}'; }
echo
printf 'Stampede, %s users on one box: a master and %s workers, spawned at %s/s; nginx %s processes on %s addresses\n' \
	"$USERS" "$WORKERS" "$SPAWN_RATE" "$NGINX_WORKERS" "$TARGETS"
printf '%s, %s, %s cores, go %s, open files per process %s\n' "$(date -u +%Y-%m-%dT%H:%MZ)" \
	"$(lscpu | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')" "$(nproc)" "$(go env GOVERSION 2>/dev/null || echo '?')" "$hard"
printf '%-44s %s s (all users running after %s s)\n' "ramp: master start to all requests counted" "$ramp" "$users_ramp"
printf '%-44s %s requests, %s failures, %s users\n' "Stampede counted (JSON summary)" "$total_reqs" "$total_fails" "$users"
printf '%-44s %s requests on %s connections (per address: %s); %s open\n' "nginx counted (access log, stub_status)" "$target_reqs" "$target_conns" "$per_addr" "$open_conns"
printf '%-44s exit %s after %s s; results written\n' "SIGINT stop" "$rc" "$stop_s"
echo
printf '%-10s %9s %9s %9s %9s %9s %7s   (MB; %s)\n' process VmRSS VmHWM RssAnon RssFile Pss threads \
	"$([ "$IDLE" -gt 0 ] && echo "$((SETTLE + IDLE)) s after the last request" || echo "$SETTLE s after the last request")"
printf '%s' "$RSS_LINES"
printf '%-10s %9s %9s %29s\n' total "$(mb "$SUM_RSS")" "$(mb "$SUM_HWM")" "$(mb "$SUM_PSS")"
if [ "$IDLE" -gt 0 ]; then
	printf '%-10s %9s %9s %29s   (%s s after the last request)\n' total "$(mb "$RSS1")" "$(mb "$HWM1")" "$(mb "$PSS1")" "$SETTLE"
fi
printf 'per user: %s KB of RSS (all processes)\n' "$(awk -v r="$SUM_RSS" -v n="$USERS" 'BEGIN{printf "%.1f", r/n}')"
echo
# Every user makes exactly one request on its own connection: more means
# users were stopped and replaced (a worker the master thought missing
# under CPU starvation has its users placed elsewhere, then gets them back).
every=yes
if [ "$total_reqs" != "$USERS" ] || [ "$total_fails" != 0 ] || [ "$target_reqs" != "$USERS" ] || [ "$target_conns" != "$USERS" ]; then
	every=NO
fi
# The workers' first dials race the master's start: not worth showing.
warnings=$(grep -h 'level=\(WARN\|ERROR\)' "$WORK/master.out" "$WORK"/worker*.out | grep -v 'connect: connection refused' || true)
if [ -n "$warnings" ]; then
	printf '\nwarnings of the master and workers:\n%s\n' "$warnings"
fi
printf '%s users: %s MB total RSS %s the %s MB goal (peaks summed: %s MB; PSS %s MB); every user made exactly one request: %s\n' \
	"$USERS" "$(mb "$SUM_RSS")" "$(verdict "$SUM_RSS")" "$TARGET_MB" "$(mb "$SUM_HWM")" "$(mb "$SUM_PSS")" "$every"
[ "$every" = yes ]
