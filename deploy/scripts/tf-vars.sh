#!/usr/bin/env bash
# Turn the headless workflow's inputs (environment variables WORKERS,
# REGIONS, USERS, SPAWN_RATE, RUN_TIME, TARGET, THRESHOLDS, SCRIPT, PREFIX,
# IMAGE_TAG, RUN_ID) into TF_VAR_* lines for $GITHUB_ENV (stdout without it).
# Lists are comma-separated in the inputs and JSON for Terraform.
set -euo pipefail

split_json() {
  jq -cn --arg v "$1" '$v | split(",") | map(gsub("^\\s+|\\s+$"; "")) | map(select(length > 0))'
}

out=${GITHUB_ENV:-/dev/stdout}
repo=${GITHUB_REPOSITORY:-stampede-load/stampede}
workspace=${GITHUB_WORKSPACE:-$PWD}
{
  echo "TF_VAR_mode=headless"
  echo "TF_VAR_workers=${WORKERS:?}"
  echo "TF_VAR_worker_regions=$(split_json "${REGIONS:?}")"
  echo "TF_VAR_users=${USERS:?}"
  echo "TF_VAR_spawn_rate=${SPAWN_RATE:?}"
  echo "TF_VAR_run_time=${RUN_TIME:?}"
  echo "TF_VAR_target_host=${TARGET:-}"
  echo "TF_VAR_thresholds=$(split_json "${THRESHOLDS:-}")"
  echo "TF_VAR_script_path=$workspace/${SCRIPT:?}"
  echo "TF_VAR_prefix=${PREFIX:?}"
  echo "TF_VAR_run_id=${RUN_ID:?}"
  echo "TF_VAR_image=ghcr.io/${repo,,}:${IMAGE_TAG:-latest}"
} >>"$out"
