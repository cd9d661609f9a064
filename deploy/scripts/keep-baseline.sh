#!/usr/bin/env bash
# Keep a downloaded headless run as the baseline the next runs are judged
# against: its JSON summary goes to baselines/NAME/ in the results
# container, the folder the master reads with --baseline when the
# Terraform variable baseline is NAME. The headless workflow runs this on
# the default branch after the run passed its thresholds.
#
#   keep-baseline.sh RESULTS_DIR
#
# Env: STORAGE_ACCOUNT, RESULTS_CONTAINER, RUN_ID, BASELINE (the name).
# Exit status: 0 kept; 1 the run has no summary or did not pass (the
# baseline stays as it was); 2 bad input; az's status when the upload fails.
set -euo pipefail

dir=${1:?usage: keep-baseline.sh RESULTS_DIR}
: "${STORAGE_ACCOUNT:?}" "${RESULTS_CONTAINER:?}" "${RUN_ID:?}" "${BASELINE:?}"
if [[ ! $BASELINE =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$ ]]; then
  echo "keep-baseline: BASELINE must be letters, digits, '.', '_' or '-' (at most 63)" >&2
  exit 2
fi

summary=""
while IFS= read -r -d '' f; do
  if jq -e 'type == "object" and has("thresholds_passed")' "$f" >/dev/null 2>&1; then
    summary=$f
    break
  fi
done < <(find "$dir" -type f -path "*$RUN_ID/*" -name '*.json' -print0 | sort -z)

if [[ -z $summary ]]; then
  echo "keep-baseline: no JSON summary of run $RUN_ID under $dir; baseline $BASELINE stays as it was" >&2
  exit 1
fi
if [[ $(jq -r '.thresholds_passed' "$summary") != true ]]; then
  echo "keep-baseline: run $RUN_ID did not pass its thresholds; baseline $BASELINE stays as it was" >&2
  exit 1
fi
az storage blob upload --auth-mode login --overwrite --only-show-errors --output none \
  --account-name "$STORAGE_ACCOUNT" --container-name "$RESULTS_CONTAINER" \
  --name "baselines/$BASELINE/stampede_summary.json" --file "$summary"
echo "keep-baseline: run $RUN_ID is now baseline $BASELINE ($RESULTS_CONTAINER/baselines/$BASELINE/)"
