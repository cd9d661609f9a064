#!/usr/bin/env bash
# Wait for a headless Stampede run on Azure Container Instances to finish,
# judged by its state rather than by a fixed sleep: the run is over when the
# master's container has terminated or when the run's JSON summary is in the
# results container, whichever comes first. Gives up after TIMEOUT_SECONDS.
#
# Needs an `az` logged in (the GitHub workflow's OIDC login, or `az login`).
#
# Environment:
#   RESOURCE_GROUP, MASTER_GROUP        the master's container group
#   STORAGE_ACCOUNT, RESULTS_CONTAINER  where the results land
#   RUN_ID                              the run's folder in the container
#   TIMEOUT_SECONDS (3600), POLL_SECONDS (20)
# Prints, and appends to $GITHUB_OUTPUT when set: finished_by=terminated|summary,
# exit_code=N (empty when the container had not terminated).
set -euo pipefail

: "${RESOURCE_GROUP:?}" "${MASTER_GROUP:?}" "${STORAGE_ACCOUNT:?}" "${RESULTS_CONTAINER:?}" "${RUN_ID:?}"
timeout_seconds=${TIMEOUT_SECONDS:-3600}
poll_seconds=${POLL_SECONDS:-20}

emit() {
  echo "$1"
  if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    echo "$1" >>"$GITHUB_OUTPUT"
  fi
}

start=$SECONDS
while :; do
  state=$(az container show --resource-group "$RESOURCE_GROUP" --name "$MASTER_GROUP" \
    --query 'containers[0].instance.currentState.state' --output tsv 2>/dev/null || true)
  if [[ "$state" == "Terminated" ]]; then
    code=$(az container show --resource-group "$RESOURCE_GROUP" --name "$MASTER_GROUP" \
      --query 'containers[0].instance.currentState.exitCode' --output tsv)
    emit "finished_by=terminated"
    emit "exit_code=$code"
    exit 0
  fi

  summaries=$(az storage blob list --auth-mode login --account-name "$STORAGE_ACCOUNT" \
    --container-name "$RESULTS_CONTAINER" --prefix "$RUN_ID/" \
    --query "length([?ends_with(name, 'summary.json')])" --output tsv 2>/dev/null || echo 0)
  if [[ "$summaries" =~ ^[0-9]+$ ]] && ((summaries > 0)); then
    emit "finished_by=summary"
    emit "exit_code="
    exit 0
  fi

  elapsed=$((SECONDS - start))
  if ((elapsed >= timeout_seconds)); then
    echo "wait-for-run: run $RUN_ID not finished after ${elapsed}s (master state: ${state:-unknown})" >&2
    exit 2
  fi
  echo "wait-for-run: ${elapsed}s, master ${state:-not found yet}, no summary yet"
  sleep "$poll_seconds"
done
