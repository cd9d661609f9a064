#!/usr/bin/env bash
# Judge a downloaded headless run and write a Markdown summary of it.
#
#   report-results.sh RESULTS_DIR [MASTER_EXIT_CODE]
#
# RESULTS_DIR holds the files of one run (the run's folder of the results
# container). The JSON summary is the *.json file with a top-level
# "thresholds_passed"; the HTML report is the *.html file. The Markdown goes
# to $GITHUB_STEP_SUMMARY when set, else to stdout.
#
# Exit status: 0 when the thresholds passed (or none were set and the master
# exited 0), 1 when a threshold failed (thresholds_passed false, or no
# summary and the master exited 1), 4 when the master exited 4 (its
# workers never connected), 2 when the run left no summary and no usable
# exit code.
set -euo pipefail

dir=${1:?usage: report-results.sh RESULTS_DIR [MASTER_EXIT_CODE]}
exit_code=${2:-}
out=${GITHUB_STEP_SUMMARY:-/dev/stdout}

summary=""
while IFS= read -r -d '' f; do
  if jq -e 'type == "object" and has("thresholds_passed")' "$f" >/dev/null 2>&1; then
    summary=$f
    break
  fi
done < <(find "$dir" -type f -name '*.json' -print0 | sort -z)

report=$(find "$dir" -type f -name '*.html' -print -quit)

{
  echo "## Stampede headless run"
  echo
  if [[ -n "$summary" ]]; then
    passed=$(jq -r '.thresholds_passed' "$summary")
    echo "Thresholds passed: **$passed**"
    # The rest follows docs/json-summary.md; parts a summary lacks are left out.
    jq -r '
      def ms: if type == "number" then (. * 10 | round / 10 | tostring) + " ms" else "-" end;
      def row($title): "| \($title) | \(.num_requests // "-") | \(.num_failures // "-") | \((.total_rps // 0) * 10 | round / 10) | \(.percentiles["50"] | ms) | \(.percentiles["95"] | ms) | \(.percentiles["99"] | ms) |";
      (if (.run | type) == "object" then
        "", "Run `\(.run.id // "-")`: \(.run.users // "-") users, \(.run.duration_seconds // "-") s, \(.run.worker_count // 0) workers in \((.run.regions // []) | join(", ") | if . == "" then "-" else . end); \(.run.stop_reason // "")"
      else empty end),
      (if (.thresholds | type) == "array" and (.thresholds | length) > 0 then
        "", "| threshold | measured | passed |", "|---|---|---|",
        (.thresholds[] | "| `\(.expr)` | \(.value) (\(.metric)) | \(if .passed then "yes" else "**no**" + (if .message then ": " + .message else "" end) end) |")
      else empty end),
      (if (.stats.total | type) == "object" then
        "", "| | requests | failures | req/s | p50 | p95 | p99 |", "|---|---|---|---|---|---|---|",
        (.stats.total | row("**all**")),
        ((.stats.regions // [])[] | . as $r | $r.total | row("region " + ($r.region // "?")))
      else empty end)
    ' "$summary" 2>/dev/null || true
  else
    echo "No JSON summary was found in the results."
  fi
  echo
  if [[ -n "$report" ]]; then
    echo "HTML report: \`${report#"$dir"/}\` (in the workflow's artifacts)."
  else
    echo "No HTML report was found in the results."
  fi
  if [[ -n "$exit_code" ]]; then
    echo
    case "$exit_code" in
      4) echo "Master exit code: 4 (the workers did not connect; no load was sent)" ;;
      *) echo "Master exit code: $exit_code" ;;
    esac
  fi
} >>"$out"

if [[ -n "$summary" ]]; then
  if [[ "$(jq -r '.thresholds_passed' "$summary")" == "true" ]]; then
    exit 0
  fi
  echo "report-results: thresholds failed" >&2
  exit 1
fi
case "$exit_code" in
  0) exit 0 ;;
  1)
    echo "report-results: no summary, and the master exited 1 (thresholds failed)" >&2
    exit 1
    ;;
  4)
    echo "report-results: the master exited 4: the workers did not connect within expect_workers_max_wait (no load was sent; see the master's log and the workers' container logs)" >&2
    exit 4
    ;;
  *)
    echo "report-results: no summary and no usable exit code (${exit_code:-none}); the run did not finish" >&2
    exit 2
    ;;
esac
