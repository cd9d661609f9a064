#!/usr/bin/env bash
# Wait for a headless Stampede run on Azure Container Instances to finish,
# judged by its state rather than by a fixed sleep: the run is over when the
# master's container has terminated or when the run's JSON summary is in the
# results container, whichever comes first. Gives up after TIMEOUT_SECONDS.
#
# Needs an `az` logged in (the GitHub workflow's OIDC login, or `az login`).
# Errors of `az` are not taken for "not finished": they are printed, a
# master not created yet is waited for, and expired or missing credentials
# end the wait at once with status 3 (log in again and rerun this script:
# it picks up where the run is). Results already in storage are reported
# as such whatever `az container show` says.
#
# Environment:
#   RESOURCE_GROUP, MASTER_GROUP        the master's container group
#   STORAGE_ACCOUNT, RESULTS_CONTAINER  where the results land
#   RUN_ID                              the run's folder in the container
#   TIMEOUT_SECONDS (3600), POLL_SECONDS (20), MAX_AZ_ERRORS (5)
# Prints, and appends to $GITHUB_OUTPUT when set:
#   finished_by=terminated|summary|login-expired|az-error|timeout
#   exit_code=N (the master's, empty when its container had not terminated)
# Status: 0 finished, 2 timed out, 3 `az` failed (credentials or repeated
# errors).
set -euo pipefail

: "${RESOURCE_GROUP:?}" "${MASTER_GROUP:?}" "${STORAGE_ACCOUNT:?}" "${RESULTS_CONTAINER:?}" "${RUN_ID:?}"
timeout_seconds=${TIMEOUT_SECONDS:-3600}
poll_seconds=${POLL_SECONDS:-20}
max_errors=${MAX_AZ_ERRORS:-5}
errfile=$(mktemp)
outfile=$(mktemp)
trap 'rm -f "$errfile" "$outfile"' EXIT

emit() {
  echo "$1"
  if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    echo "$1" >>"$GITHUB_OUTPUT"
  fi
}

# ask ARGS...: runs az, its answer in $answer (not in a subshell, so that
# it can end the script). On failure it prints the error and decides:
# expired or missing credentials end the wait (status 3), a master not
# created yet is an empty answer, anything else marks the poll as failed
# (MAX_AZ_ERRORS failed polls in a row end the wait).
answer=""
poll_failed=0
ask() {
  answer=""
  if az "$@" >"$outfile" 2>"$errfile"; then
    answer=$(cat "$outfile")
    return 0
  fi
  local msg
  msg=$(head -c 2000 "$errfile")
  if grep -Eqi 'AADSTS|az login|expired|InvalidAuthenticationToken|credentials|authoriz' <<<"$msg"; then
    echo "wait-for-run: az is not logged in any more (or lacks a role): $msg" >&2
    emit "finished_by=login-expired"
    emit "exit_code="
    exit 3
  fi
  if grep -Eqi 'ResourceNotFound|ResourceGroupNotFound|was not found' <<<"$msg"; then
    return 1
  fi
  poll_failed=1
  echo "wait-for-run: az $1 $2 failed: $msg" >&2
  return 1
}

start=$SECONDS
errors=0
while :; do
  poll_failed=0
  ask container show --resource-group "$RESOURCE_GROUP" --name "$MASTER_GROUP" \
    --query 'containers[0].instance.currentState.state' --output tsv || true
  state=$answer
  if [[ "$state" == "Terminated" ]]; then
    ask container show --resource-group "$RESOURCE_GROUP" --name "$MASTER_GROUP" \
      --query 'containers[0].instance.currentState.exitCode' --output tsv || true
    emit "finished_by=terminated"
    emit "exit_code=$answer"
    exit 0
  fi

  ask storage blob list --auth-mode login --account-name "$STORAGE_ACCOUNT" \
    --container-name "$RESULTS_CONTAINER" --prefix "$RUN_ID/" \
    --query "length([?ends_with(name, 'summary.json')])" --output tsv || true
  summaries=$answer
  if [[ "$summaries" =~ ^[0-9]+$ ]] && ((summaries > 0)); then
    emit "finished_by=summary"
    emit "exit_code="
    exit 0
  fi

  if ((poll_failed)); then
    errors=$((errors + 1))
    if ((errors >= max_errors)); then
      echo "wait-for-run: az failed in $errors polls in a row; giving up" >&2
      emit "finished_by=az-error"
      emit "exit_code="
      exit 3
    fi
  else
    errors=0
  fi

  elapsed=$((SECONDS - start))
  if ((elapsed >= timeout_seconds)); then
    echo "wait-for-run: run $RUN_ID not finished after ${elapsed}s (master state: ${state:-unknown}); no summary in $STORAGE_ACCOUNT/$RESULTS_CONTAINER/$RUN_ID/" >&2
    emit "finished_by=timeout"
    emit "exit_code="
    exit 2
  fi
  echo "wait-for-run: ${elapsed}s, master ${state:-not found yet}, no summary yet"
  sleep "$poll_seconds"
done
