#!/usr/bin/env bash
# Offline tests of wait-for-run.sh and report-results.sh: a fake `az` on PATH
# plays the Azure side (a master that runs, then terminates; a summary blob
# that appears), fixture JSON plays the results.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

# fake az: state comes from files in $FAKE_AZ_DIR; every call is counted.
mkdir -p "$tmp/bin" "$tmp/az"
cat >"$tmp/bin/az" <<'FAKE'
#!/usr/bin/env bash
set -euo pipefail
d=$FAKE_AZ_DIR
n=$(($(cat "$d/calls" 2>/dev/null || echo 0) + 1))
echo "$n" >"$d/calls"
case "$1 $2" in
  "container show")
    if [[ "$*" == *exitCode* ]]; then cat "$d/exit_code"; exit 0; fi
    # the master terminates at the Nth `container show`
    shows=$(($(cat "$d/shows" 2>/dev/null || echo 0) + 1))
    echo "$shows" >"$d/shows"
    if [[ -f "$d/terminate_at" ]] && ((shows >= $(cat "$d/terminate_at"))); then
      echo Terminated
    else
      echo Running
    fi
    ;;
  "storage blob")
    lists=$(($(cat "$d/lists" 2>/dev/null || echo 0) + 1))
    echo "$lists" >"$d/lists"
    if [[ -f "$d/summary_at" ]] && ((lists >= $(cat "$d/summary_at"))); then echo 1; else echo 0; fi
    ;;
  *) echo "fake az: unexpected: $*" >&2; exit 3 ;;
esac
FAKE
chmod +x "$tmp/bin/az"

run_wait() { # name, then files to create in the fake az dir as k=v
  rm -rf "$tmp/az" && mkdir -p "$tmp/az"
  local kv
  for kv in "${@:2}"; do echo "${kv#*=}" >"$tmp/az/${kv%%=*}"; done
  : >"$tmp/out"
  PATH="$tmp/bin:$PATH" FAKE_AZ_DIR="$tmp/az" GITHUB_OUTPUT="$tmp/out" \
    RESOURCE_GROUP=rg MASTER_GROUP=m STORAGE_ACCOUNT=sa RESULTS_CONTAINER=results RUN_ID=r1 \
    TIMEOUT_SECONDS="${TIMEOUT_SECONDS:-30}" POLL_SECONDS=0 \
    bash "$here/wait-for-run.sh" >"$tmp/log" 2>&1
}

if run_wait terminated terminate_at=3 exit_code=1 && grep -qx 'finished_by=terminated' "$tmp/out" && grep -qx 'exit_code=1' "$tmp/out" && [[ $(cat "$tmp/az/shows") == 3 ]]; then
  ok "wait: returns when the master terminates, with its exit code"
else bad "wait: terminated master"; cat "$tmp/log"; fi

if run_wait summary summary_at=2 && grep -qx 'finished_by=summary' "$tmp/out"; then
  ok "wait: returns when the summary blob appears"
else bad "wait: summary blob"; cat "$tmp/log"; fi

if TIMEOUT_SECONDS=1 run_wait never; then
  bad "wait: must time out when the run never ends"
else
  rc=$?
  if [[ $rc == 2 ]] && grep -q 'not finished after' "$tmp/log"; then ok "wait: times out with status 2"; else bad "wait: timeout status $rc"; fi
fi

# report-results.sh
mkdir -p "$tmp/pass/r1" "$tmp/failed/r1" "$tmp/none"
cat >"$tmp/pass/r1/stampede_summary.json" <<'JSON'
{"format": "stampede-summary/1", "thresholds_passed": true,
 "run": {"id": "r1", "users": 300, "duration_seconds": 600.2, "worker_count": 6,
         "regions": ["eastus", "westeurope"], "stop_reason": "run time reached"},
 "thresholds": [{"expr": "p95<500ms", "metric": "p95", "value": 231.5, "passed": true}],
 "stats": {"total": {"method": "", "name": "Aggregated", "num_requests": 1200, "num_failures": 3,
                     "total_rps": 2.04, "percentiles": {"50": 80.123, "95": 231.5, "99": 410.0}},
           "regions": [{"region": "eastus", "total": {"num_requests": 600, "num_failures": 1, "total_rps": 1.02,
                                                      "percentiles": {"50": 95.0, "95": 250.0, "99": 430.0}}}]}}
JSON
printf '<html></html>\n' >"$tmp/pass/r1/stampede_report.html"
printf '{"other": 1}\n' >"$tmp/failed/r1/a.json"
printf '{"thresholds_passed": false, "thresholds": [{"expr": "p95<1ms", "metric": "p95", "value": 12.5, "passed": false, "message": "12.5 ms >= 1 ms"}]}\n' >"$tmp/failed/r1/stampede_summary.json"

report() { GITHUB_STEP_SUMMARY="$tmp/summary.md" bash "$here/report-results.sh" "$@" >"$tmp/log" 2>&1; }

: >"$tmp/summary.md"
# shellcheck disable=SC2016 # the backquotes are Markdown, not expansions
if report "$tmp/pass" 0 && grep -q 'Thresholds passed: \*\*true\*\*' "$tmp/summary.md" &&
  grep -qF '| **all** | 1200 | 3 | 2 | 80.1 ms | 231.5 ms | 410 ms |' "$tmp/summary.md" &&
  grep -qF '| region eastus | 600 | 1 | 1 | 95 ms | 250 ms | 430 ms |' "$tmp/summary.md" &&
  grep -qF '| `p95<500ms` | 231.5 (p95) | yes |' "$tmp/summary.md" &&
  grep -qF 'Run `r1`: 300 users, 600.2 s, 6 workers in eastus, westeurope; run time reached' "$tmp/summary.md" &&
  grep -q 'stampede_report.html' "$tmp/summary.md"; then
  ok "report: passing run, run line, thresholds, totals and regions tables, report link"
else bad "report: passing run"; cat "$tmp/log" "$tmp/summary.md"; fi

: >"$tmp/summary.md"
if report "$tmp/failed" 1; then bad "report: failed thresholds must fail"; else
  rc=$?
  if [[ $rc == 1 ]] && grep -q 'Thresholds passed: \*\*false\*\*' "$tmp/summary.md" && grep -qF '**no**: 12.5 ms >= 1 ms' "$tmp/summary.md"; then
    ok "report: failed thresholds exit 1 and say why"
  else bad "report: failed thresholds status $rc"; cat "$tmp/summary.md"; fi
fi

if report "$tmp/none" 1; then bad "report: no summary + exit 1 must fail"; else
  rc=$?
  if [[ $rc == 1 ]]; then ok "report: no summary, master exit 1 -> 1"; else bad "report: no summary exit 1 status $rc"; fi
fi

if report "$tmp/none" ""; then bad "report: nothing at all must fail"; else
  rc=$?
  if [[ $rc == 2 ]]; then ok "report: no summary, no exit code -> 2"; else bad "report: nothing status $rc"; fi
fi

# tf-vars.sh
if WORKERS=8 REGIONS=" westeurope, eastus ,southeastasia," USERS=50 SPAWN_RATE=5 RUN_TIME=2m TARGET="" \
  THRESHOLDS="p95<500ms, error_rate<1%" SCRIPT=examples/shop.star PREFIX=ci RUN_ID=gh-1-1 IMAGE_TAG=v1.0.0 \
  GITHUB_ENV="$tmp/env" GITHUB_REPOSITORY=Owner/Stampede GITHUB_WORKSPACE=/w bash "$here/tf-vars.sh" &&
  grep -qx 'TF_VAR_worker_regions=\["westeurope","eastus","southeastasia"\]' "$tmp/env" &&
  grep -qx 'TF_VAR_thresholds=\["p95<500ms","error_rate<1%"\]' "$tmp/env" &&
  grep -qx 'TF_VAR_image=ghcr.io/owner/stampede:v1.0.0' "$tmp/env" &&
  grep -qx 'TF_VAR_mode=headless' "$tmp/env" && grep -qx 'TF_VAR_script_path=/w/examples/shop.star' "$tmp/env"; then
  ok "tf-vars: comma lists become JSON lists, image name lower-cased"
else bad "tf-vars"; cat "$tmp/env" 2>/dev/null || true; fi

echo "deploy-scripts: $pass passed, $fail failed"
((fail == 0))
