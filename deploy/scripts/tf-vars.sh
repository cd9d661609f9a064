#!/usr/bin/env bash
# Turn a workflow's inputs into TF_VAR_* lines for $GITHUB_ENV (stdout
# without it). Lists are comma-separated in the inputs and JSON for
# Terraform.
#
#   MODE=headless (default): WORKERS, REGIONS, USERS, SPAWN_RATE, RUN_TIME,
#     TARGET, THRESHOLDS, SCRIPT, PREFIX, RUN_ID, IMAGE_TAG
#   MODE=webui: WORKERS, REGIONS, SCRIPT, PREFIX, TARGET, LOCATION, IMAGE_TAG
#
# SCRIPT is a .star file, a .tar.gz bundle, or a folder: a folder is packed
# with `$STAMPEDE bundle` (default `go run ./cmd/stampede`, run in the
# workspace) into $BUNDLE_DIR (default $RUNNER_TEMP or /tmp); at zero
# workers no container group runs it, so it is not packed.
#
# IMAGE_TAG is a release version (1.2.3, or v1.2.3, or 1.2 for the newest
# patch of 1.2); empty means the release in deploy/VERSION. `latest` is
# refused: a worker added after a release would run another version than
# its master.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

split_json() {
  jq -cn --arg v "$1" '$v | split(",") | map(gsub("^\\s+|\\s+$"; "")) | map(select(length > 0))'
}

tag=${IMAGE_TAG:-$(cat "$here/../VERSION")}
tag=${tag#v}
if [[ ! "$tag" =~ ^[0-9]+\.[0-9]+(\.[0-9]+)?(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "tf-vars: IMAGE_TAG (repository variable STAMPEDE_IMAGE_TAG) '${IMAGE_TAG:-}' is not a release version such as 1.2.3 or v1.2.3; 'latest' is refused because workers added after a release would run another version than the master" >&2
  exit 2
fi

out=${GITHUB_ENV:-/dev/stdout}
repo=${GITHUB_REPOSITORY:-stampede-load/stampede}
workspace=${GITHUB_WORKSPACE:-$PWD}
script_path=$workspace/${SCRIPT:?}
if [[ -d "$script_path" ]]; then
  if [[ "${WORKERS:?}" == 0 ]]; then
    # nothing runs at zero workers; any valid script keeps Terraform happy
    script_path=$here/../terraform/azure-aci/tests/fixtures/test.star
  else
    bundle=${BUNDLE_DIR:-${RUNNER_TEMP:-/tmp}}/stampede-test.tar.gz
    read -r -a stampede <<<"${STAMPEDE:-go run ./cmd/stampede}"
    (cd "$workspace" && "${stampede[@]}" bundle "$SCRIPT" -o "$bundle") >&2 || {
      echo "tf-vars: packing the folder $SCRIPT into a bundle failed" >&2
      exit 2
    }
    script_path=$bundle
  fi
fi
mode=${MODE:-headless}
if [[ $mode != headless && $mode != webui ]]; then
  echo "tf-vars: MODE must be headless or webui, got '$mode'" >&2
  exit 2
fi
{
  echo "TF_VAR_mode=$mode"
  echo "TF_VAR_workers=${WORKERS:?}"
  echo "TF_VAR_worker_regions=$(split_json "${REGIONS:?}")"
  echo "TF_VAR_target_host=${TARGET:-}"
  echo "TF_VAR_script_path=$script_path"
  echo "TF_VAR_prefix=${PREFIX:?}"
  echo "TF_VAR_image=ghcr.io/${repo,,}:$tag"
  case $mode in
    headless)
      echo "TF_VAR_users=${USERS:?}"
      echo "TF_VAR_spawn_rate=${SPAWN_RATE:?}"
      echo "TF_VAR_run_time=${RUN_TIME:?}"
      echo "TF_VAR_thresholds=$(split_json "${THRESHOLDS:-}")"
      echo "TF_VAR_baseline=${BASELINE:-}"
      echo "TF_VAR_run_id=${RUN_ID:?}"
      ;;
    webui)
      echo "TF_VAR_location=${LOCATION:?}"
      ;;
  esac
} >>"$out"
