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
# fail_show=login|notfound|other makes `container show` fail as az does
# (other: only the first fail_times calls, default every call)
if [[ "$1 $2" == "container show" && -f "$d/fail_show" ]]; then
  fails=$(($(cat "$d/fails" 2>/dev/null || echo 0) + 1))
  echo "$fails" >"$d/fails"
  if [[ ! -f "$d/fail_times" ]] || ((fails <= $(cat "$d/fail_times"))); then
    case $(cat "$d/fail_show") in
      login) echo "ERROR: AADSTS700024: Client assertion is not within its valid time range. Please run 'az login' to setup account." >&2 ;;
      notfound) echo "ERROR: (ResourceNotFound) The Resource 'Microsoft.ContainerInstance/containerGroups/m' under resource group 'rg' was not found." >&2 ;;
      other) echo "ERROR: (InternalServerError) Encountered an internal server error." >&2 ;;
    esac
    exit 1
  fi
fi
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
    if [[ $3 == upload ]]; then echo "$*" >"$d/upload"; exit 0; fi
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

if run_wait login fail_show=login; then bad "wait: expired credentials must fail"; else
  rc=$?
  if [[ $rc == 3 ]] && grep -qx 'finished_by=login-expired' "$tmp/out" && grep -q 'AADSTS700024' "$tmp/log" &&
    [[ $(cat "$tmp/az/calls") == 1 ]]; then
    ok "wait: expired az credentials end the wait at once (status 3) with az's error"
  else bad "wait: expired credentials status $rc"; cat "$tmp/log"; fi
fi

if run_wait notfound fail_show=notfound summary_at=3 && grep -qx 'finished_by=summary' "$tmp/out"; then
  ok "wait: a master not created yet is waited for; results in storage are reported as such"
else bad "wait: not found, then summary"; cat "$tmp/log"; fi

if run_wait transient fail_show=other fail_times=2 terminate_at=2 exit_code=4 &&
  grep -qx 'finished_by=terminated' "$tmp/out" && grep -qx 'exit_code=4' "$tmp/out" && grep -q 'InternalServerError' "$tmp/log"; then
  ok "wait: transient az errors are printed and retried"
else bad "wait: transient errors"; cat "$tmp/log"; fi

if MAX_AZ_ERRORS=3 run_wait broken fail_show=other; then bad "wait: repeated az errors must fail"; else
  rc=$?
  if [[ $rc == 3 ]] && grep -qx 'finished_by=az-error' "$tmp/out" && [[ $(cat "$tmp/az/fails") == 3 ]]; then
    ok "wait: MAX_AZ_ERRORS errors in a row end the wait (status 3)"
  else bad "wait: repeated errors status $rc"; cat "$tmp/log"; fi
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

if report "$tmp/none" 4; then bad "report: workers never connected must fail"; else
  rc=$?
  if [[ $rc == 4 ]] && grep -q 'workers did not connect' "$tmp/log"; then ok "report: master exit 4 -> workers did not connect (4), not thresholds"; else bad "report: exit 4 status $rc"; cat "$tmp/log"; fi
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
  grep -qx 'TF_VAR_image=ghcr.io/owner/stampede:1.0.0' "$tmp/env" &&
  grep -qx 'TF_VAR_mode=headless' "$tmp/env" && grep -qx 'TF_VAR_script_path=/w/examples/shop.star' "$tmp/env"; then
  ok "tf-vars: comma lists become JSON lists, image name lower-cased, v1.0.0 is the image tag 1.0.0"
else bad "tf-vars"; cat "$tmp/env" 2>/dev/null || true; fi

# a folder is packed with stampede bundle (a fake one here), except at zero
mkdir -p "$tmp/ws/tests/shop" "$tmp/fakebin"
# shellcheck disable=SC2016 # the fake script expands its own arguments
printf '#!/usr/bin/env bash\necho "$*" >"%s/bundle-args"; : >"${@: -1}"\n' "$tmp" >"$tmp/fakebin/stampede"
chmod +x "$tmp/fakebin/stampede"
rm -f "$tmp/env"
if WORKERS=3 REGIONS=eu USERS=1 SPAWN_RATE=1 RUN_TIME=1m SCRIPT=tests/shop PREFIX=p RUN_ID=r STAMPEDE="$tmp/fakebin/stampede" \
  BUNDLE_DIR="$tmp" GITHUB_ENV="$tmp/env" GITHUB_WORKSPACE="$tmp/ws" bash "$here/tf-vars.sh" 2>"$tmp/log" &&
  grep -qx "TF_VAR_script_path=$tmp/stampede-test.tar.gz" "$tmp/env" &&
  grep -qx "bundle tests/shop -o $tmp/stampede-test.tar.gz" "$tmp/bundle-args"; then
  ok "tf-vars: a folder is packed with stampede bundle and deployed as the archive"
else bad "tf-vars: folder bundle"; cat "$tmp/log" "$tmp/env" 2>/dev/null || true; fi
rm -f "$tmp/env" "$tmp/bundle-args"
if WORKERS=0 REGIONS=eu USERS=1 SPAWN_RATE=1 RUN_TIME=1m SCRIPT=tests/shop PREFIX=p RUN_ID=r STAMPEDE="$tmp/fakebin/stampede" \
  GITHUB_ENV="$tmp/env" GITHUB_WORKSPACE="$tmp/ws" bash "$here/tf-vars.sh" 2>"$tmp/log" &&
  grep -q "TF_VAR_script_path=.*fixtures/test.star" "$tmp/env" && [[ ! -f "$tmp/bundle-args" ]]; then
  ok "tf-vars: at zero workers a folder is not packed"
else bad "tf-vars: zero workers folder"; cat "$tmp/log" "$tmp/env" 2>/dev/null || true; fi

release=$(cat "$here/../VERSION")
rm -f "$tmp/env"
if MODE=webui WORKERS=3 REGIONS=westeurope SCRIPT=examples/shop.star PREFIX=p LOCATION=westeurope IMAGE_TAG="" \
  GITHUB_ENV="$tmp/env" GITHUB_REPOSITORY=o/s GITHUB_WORKSPACE=/w bash "$here/tf-vars.sh" &&
  grep -qx "TF_VAR_image=ghcr.io/o/s:$release" "$tmp/env" && grep -qx 'TF_VAR_mode=webui' "$tmp/env" &&
  grep -qx 'TF_VAR_location=westeurope' "$tmp/env" && ! grep -q 'TF_VAR_run_id' "$tmp/env"; then
  ok "tf-vars: webui mode; no IMAGE_TAG means the release in deploy/VERSION ($release)"
else bad "tf-vars: webui / default tag"; cat "$tmp/env" 2>/dev/null || true; fi

if MODE=webui WORKERS=3 REGIONS=westeurope SCRIPT=s PREFIX=p LOCATION=westeurope IMAGE_TAG=latest \
  GITHUB_ENV="$tmp/env2" bash "$here/tf-vars.sh" 2>"$tmp/log"; then bad "tf-vars: latest must be refused"
elif grep -q "'latest' is refused" "$tmp/log" && [[ ! -s "$tmp/env2" ]]; then ok "tf-vars: IMAGE_TAG=latest refused, nothing written"
else bad "tf-vars: latest message"; cat "$tmp/log"; fi

# keep-baseline.sh
keep() { # RESULTS_DIR: run it against the fake az
  rm -rf "$tmp/az" && mkdir -p "$tmp/az"
  PATH="$tmp/bin:$PATH" FAKE_AZ_DIR="$tmp/az" STORAGE_ACCOUNT=sa RESULTS_CONTAINER=results RUN_ID=r1 BASELINE=main \
    bash "$here/keep-baseline.sh" "$1" >"$tmp/log" 2>&1
}
if keep "$tmp/pass" && grep -q -- "--container-name results --name baselines/main/stampede_summary.json --file $tmp/pass/r1/" "$tmp/az/upload"; then
  ok "keep-baseline: a passing run's summary becomes baselines/main/"
else bad "keep-baseline: passing run"; cat "$tmp/log" "$tmp/az/upload" 2>/dev/null || true; fi
if keep "$tmp/failed"; then bad "keep-baseline: a failed run must not become the baseline"
elif [[ ! -f "$tmp/az/upload" ]] && grep -q 'did not pass' "$tmp/log"; then ok "keep-baseline: a failed run is not kept"
else bad "keep-baseline: failed run"; cat "$tmp/log"; fi
if keep "$tmp/none"; then bad "keep-baseline: no summary must fail"
elif [[ ! -f "$tmp/az/upload" ]] && grep -q 'no JSON summary' "$tmp/log"; then ok "keep-baseline: no summary, nothing kept"
else bad "keep-baseline: no summary"; cat "$tmp/log"; fi
rm -f "$tmp/env"
if WORKERS=1 REGIONS=eu USERS=1 SPAWN_RATE=1 RUN_TIME=1m SCRIPT=examples/shop.star PREFIX=p RUN_ID=r BASELINE=main IMAGE_TAG=1.0.0 \
  GITHUB_ENV="$tmp/env" GITHUB_REPOSITORY=o/s GITHUB_WORKSPACE=/w bash "$here/tf-vars.sh" 2>"$tmp/log" &&
  grep -qx 'TF_VAR_baseline=main' "$tmp/env"; then
  ok "tf-vars: BASELINE reaches TF_VAR_baseline"
else bad "tf-vars: baseline"; cat "$tmp/log" "$tmp/env" 2>/dev/null || true; fi

echo "deploy-scripts: $pass passed, $fail failed"
((fail == 0))
