# shellcheck shell=bash
# common.sh: shared by run.sh and memory.sh (sourced, not run): installs the
# tools, builds stampede, and starts an nginx target pinned to one core.
#
# Everything stays on loopback. The caller sets WORK (a temp dir it owns)
# and calls cleanup from its EXIT trap.

# shellcheck disable=SC2034 # REPO, BENCH_DIR, STAMPEDE are for the sourcing script
# Repository root (bench/engine/../..).
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_DIR="$REPO/bench/engine"

# Cores: the target on TARGET_CPU, the load generators on LOAD_CPU.
TARGET_CPU=${TARGET_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PORT=${PORT:-18480}
# What nginx answers at "/": static (a 75-byte file, the default) or
# return200 (`return 200 "hello world\n"` from memory: no file system, so
# nginx on its own core outruns any one-core generator).
TARGET=${TARGET:-static}

PIDS=()

log() { printf '== %s\n' "$*" >&2; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# need_cmd CMD PACKAGE...: install the first package that provides CMD
# when CMD is missing.
need_cmd() {
	local cmd=$1
	shift
	command -v "$cmd" >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] || die "$cmd is missing and we are not root to apt-get install ${*}"
	local pkg
	for pkg in "$@"; do
		log "installing $pkg (for $cmd)"
		if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null 2>&1; then
			# The package lists may be missing or stale on a new machine.
			apt-get update -qq >/dev/null 2>&1 || true
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null 2>&1 || continue
		fi
		command -v "$cmd" >/dev/null 2>&1 && return 0
	done
	die "could not install $cmd (tried: $*)"
}

# need_count NAME VALUE: VALUE must be a whole number >= 1.
need_count() {
	if ! [[ $2 =~ ^[0-9]+$ ]] || [ "$2" -lt 1 ]; then
		die "$1 must be a whole number >= 1, got '$2'"
	fi
}

check_cores() {
	local n
	n=$(nproc --all)
	if [ "$n" -le "$TARGET_CPU" ] || [ "$n" -le "$LOAD_CPU" ]; then
		die "need cores $TARGET_CPU and $LOAD_CPU, this machine has $n"
	fi
	[ "$TARGET_CPU" != "$LOAD_CPU" ] || die "TARGET_CPU and LOAD_CPU must differ"
}

# build_stampede: go build into $WORK/stampede.
build_stampede() {
	command -v go >/dev/null 2>&1 || die "go is not on PATH"
	log "building stampede"
	(cd "$REPO" && go build -o "$WORK/stampede" ./cmd/stampede) || die "go build failed"
	STAMPEDE="$WORK/stampede"
}

# start_nginx WORKER_CONNECTIONS: a one-worker nginx on 127.0.0.1:$PORT,
# pinned to TARGET_CPU, answering "/" as TARGET says.
start_nginx() {
	local conns=${1:-4096}
	local dir="$WORK/nginx"
	local location
	case $TARGET in
	static) location='' ;;
	return200) location='location / { return 200 "hello world\n"; }' ;;
	*) die "TARGET must be static or return200, got '$TARGET'" ;;
	esac
	mkdir -p "$dir/www" "$dir/tmp"
	# nginx's worker drops to an unprivileged user: let it read the page.
	chmod 755 "$WORK" "$dir" "$dir/www"
	printf '<!doctype html><title>bench</title><p>Hello from the benchmark target.</p>\n' >"$dir/www/index.html"
	chmod 644 "$dir/www/index.html"
	cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile $((conns * 2 + 1024));
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events {
    worker_connections $conns;
    multi_accept on;
}
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 100000000;
    keepalive_timeout 3600s;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    default_type text/html;
    server {
        listen 127.0.0.1:$PORT backlog=65535 reuseport;
        root $dir/www;
        index index.html;
        $location
    }
}
EOF
	if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
		die "port $PORT is already in use on 127.0.0.1; set PORT=..."
	fi
	log "starting nginx on 127.0.0.1:$PORT (core $TARGET_CPU, worker_connections $conns, target $TARGET)"
	launch_nginx "$dir" "http://127.0.0.1:$PORT/" taskset -c "$TARGET_CPU"
}

# launch_nginx DIR URL [PREFIX...]: run nginx with DIR/nginx.conf in the
# foreground of a background job (behind PREFIX, e.g. taskset) and wait
# until URL answers 200.
launch_nginx() {
	local dir=$1 url=$2
	shift 2
	"$@" nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' 2>"$dir/stderr.log" &
	PIDS+=("$!")
	local _
	for _ in $(seq 1 50); do
		if curl_ok "$url"; then
			return 0
		fi
		sleep 0.1
	done
	cat "$dir/stderr.log" "$dir/error.log" >&2 2>/dev/null
	die "nginx did not start"
}

# progress PREFIX: "users requests failures" from the last Aggregated row
# of PREFIX_stats_history.csv, "0 0 0" before the first.
progress() {
	python3 - "$1_stats_history.csv" <<'EOF'
import csv, sys
last = None
try:
    with open(sys.argv[1], newline="") as f:
        for row in csv.DictReader(f):
            if row.get("Name") == "Aggregated" and row.get("Total Failure Count") not in (None, ""):
                last = row
except FileNotFoundError:
    pass
if last is None:
    print("0 0 0")
else:
    print(last["User Count"], last["Total Request Count"], last["Total Failure Count"])
EOF
}

# curl_ok URL: true when URL answers 200 (bash only: curl may be absent).
curl_ok() {
	local hostport=${1#http://}
	hostport=${hostport%%/*}
	local host=${hostport%:*} port=${hostport##*:}
	local line
	# Braces: the 2>/dev/null must not stick to the shell as exec's would.
	{ exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null || return 1
	printf 'GET / HTTP/1.0\r\nHost: %s\r\n\r\n' "$hostport" >&3
	IFS= read -r -t 2 line <&3 || true
	exec 3>&-
	[[ $line == *" 200 "* ]]
}

# cleanup: stop what we started (by pid), remove WORK.
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [ -n "${WORK:-}" ] && [ -z "${KEEP_WORK:-}" ]; then
		rm -rf "$WORK"
	fi
}
