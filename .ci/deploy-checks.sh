#!/usr/bin/env bash
# Offline checks of the deployment: container image, Terraform module (with a
# schema-only provider, since no provider can be downloaded here), GitHub
# workflows, shell scripts and the Helm chart. Each check can fail, and the
# negative checks prove it: a misspelled Terraform argument, a broken
# workflow, a broken placement rule and invalid chart values must be caught.
#
#   bash .ci/deploy-checks.sh
#
# Installs what it lacks, quietly: shellcheck (apt), actionlint and helm
# (go install, cached in $DEPLOY_CHECKS_TOOLS, default
# ~/.cache/stampede-deploy-checks/bin). Terraform is not installable here; on
# a machine without it the Terraform checks say that they were skipped.
# Apart from those installs (Go module proxy, Debian's archive) it sends no
# traffic anywhere: the Terraform providers are the local schema-only build,
# and its CLI configuration allows no other source.
# Set DEPLOY_CHECKS_RELEASE_TARGETS="darwin/arm64 windows/amd64 ..." to also
# cross-compile the binary for those release targets (minutes each on 2
# cores, so not by default; ci.yml's release-targets job does it on GitHub).
# Ends with "deploy-checks: N passed, N failed[, N skipped]".
set -euo pipefail

ACTIONLINT_VERSION=v1.7.12
HELM_VERSION=v3.22.0

export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0 DEBIAN_FRONTEND=noninteractive

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
tools=${DEPLOY_CHECKS_TOOLS:-$HOME/.cache/stampede-deploy-checks/bin}
mkdir -p "$tools"
export PATH="$tools:$PATH"
work=$(mktemp -d)
bg_pids=()
cleanup() {
  local p
  for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

pass=0
fail=0
skip=0
n=0

# check NAME CMD...: passes when CMD succeeds.
check() {
  local name=$1
  shift
  n=$((n + 1))
  local log="$work/check.$n.log"
  local rc=0
  # a subshell outside any `if`, `&&` or `||` (each of which turns `set -e`
  # off inside it), so that every failing command in a check fails it
  set +e
  (set -e; "$@") >"$log" 2>&1 </dev/null
  rc=$?
  set -e
  if ((rc == 0)); then
    pass=$((pass + 1))
    echo "ok    $name"
  else
    fail=$((fail + 1))
    echo "FAIL  $name"
    tail -n 40 "$log" | sed 's/^/      /'
  fi
}

# check_fails NAME PATTERN CMD...: passes when CMD fails and its output
# matches the extended regular expression PATTERN (so it failed for the
# reason the check is about).
check_fails() {
  local name=$1 pattern=$2
  shift 2
  n=$((n + 1))
  local log="$work/check.$n.log"
  local rc=0
  set +e
  (set -e; "$@") >"$log" 2>&1 </dev/null
  rc=$?
  set -e
  if ((rc == 0)); then
    fail=$((fail + 1))
    echo "FAIL  $name (the command succeeded; it must fail)"
    tail -n 20 "$log" | sed 's/^/      /'
  elif grep -Eq -- "$pattern" "$log"; then
    pass=$((pass + 1))
    echo "ok    $name"
  else
    fail=$((fail + 1))
    echo "FAIL  $name (failed, but not with /$pattern/)"
    tail -n 40 "$log" | sed 's/^/      /'
  fi
}

# absent PATTERN FILE: fails when FILE has a line matching PATTERN
absent() { ! grep -q -- "$1" "$2"; }

skipped() {
  skip=$((skip + 1))
  echo "skip  $1"
}

# ---------------------------------------------------------------------------
# Tools. helm takes minutes to compile from scratch: build it in the
# background while the other checks run.

go_install_bg() { # NAME MODULE@VERSION VERSION-PROBE...
  local name=$1 mod=$2
  shift 2
  if [[ -x "$tools/$name" ]] && "$@" 2>/dev/null | grep -q -- "${mod##*@}"; then
    return 0
  fi
  (cd "$work" && GOBIN="$tools" GOFLAGS=-mod=mod go install "$mod") >"$work/install-$name.log" 2>&1 &
  bg_pids+=("$!")
  install_pid[$name]=$!
}
declare -A install_pid=()
go_install_bg helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" "$tools/helm" version --short
go_install_bg actionlint "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" "$tools/actionlint" -version

wait_tool() { # NAME: wait for its background install; fail loudly if it failed
  local name=$1
  local pid=${install_pid[$name]:-}
  if [[ -n "$pid" ]]; then
    if ! wait "$pid"; then
      echo "deploy-checks: installing $name failed:" >&2
      tail -n 20 "$work/install-$name.log" >&2
    fi
    install_pid[$name]=""
  fi
  [[ -x "$tools/$name" ]]
}

if ! command -v shellcheck >/dev/null 2>&1; then
  if [[ $(id -u) == 0 ]]; then
    apt-get -qq update >/dev/null
    apt-get -qq install -y shellcheck >/dev/null
  else
    echo "deploy-checks: shellcheck is missing and this is not root; install it (apt-get install shellcheck)" >&2
  fi
fi

# ---------------------------------------------------------------------------
# Shell scripts: every tracked (or new, not ignored) *.sh file, .ci/run and
# any other file whose first line names sh or bash.

mapfile -t shell_scripts < <(
  git ls-files --cached --others --exclude-standard 2>/dev/null | while IFS= read -r f; do
    [[ -f "$f" ]] || continue
    case "$f" in
      *.sh | .ci/run) echo "$f" ;;
      *.yml | *.yaml | *.md | *.go | *.tf | *.hcl | *.star | *.json) ;;
      *) if head -n1 -- "$f" 2>/dev/null | grep -Eq '^#!.*(/|env )(ba)?sh\b'; then echo "$f"; fi ;;
    esac
  done | sort -u
)
if command -v shellcheck >/dev/null 2>&1; then
  # every script at severity warning; the deployment's own scripts at every
  # level (style included)
  for f in "${shell_scripts[@]}"; do
    case "$f" in
      deploy/scripts/* | .ci/deploy-checks.sh) check "shellcheck $f (all levels)" shellcheck -x -- "$f" ;;
      *) check "shellcheck -S warning $f" shellcheck -x -S warning -- "$f" ;;
    esac
  done
  # shellcheck disable=SC2016 # the script is meant to be broken
  printf '#!/usr/bin/env bash\nfor f in $(ls *.txt); do rm $f; done\n' >"$work/broken.sh"
  check_fails "shellcheck: rejects a broken script" 'SC2045' shellcheck "$work/broken.sh"
else
  check "shellcheck: installed" false
fi

check "deploy scripts: wait-for-run / report-results / tf-vars tests (fake az)" bash deploy/scripts/test-scripts.sh

# ---------------------------------------------------------------------------
# Container image (no Docker engine here: check the Dockerfile's promises and
# build the binary the way its build stage does).

dockerfile_ok() {
  local f=Dockerfile
  [[ $(grep -c '^FROM ' "$f") -ge 2 ]] || { echo "not multi-stage"; return 1; }
  grep -q 'CGO_ENABLED=0' "$f" || { echo "no CGO_ENABLED=0"; return 1; }
  grep -Eq '^ENTRYPOINT \["stampede"\]' "$f" || { echo 'no ENTRYPOINT ["stampede"]'; return 1; }
  if ! grep -Eq '^EXPOSE .*\b8089\b' "$f" || ! grep -Eq '^EXPOSE .*\b5557\b' "$f"; then
    echo "8089/5557 not exposed"
    return 1
  fi
  local user
  user=$(grep -E '^USER ' "$f" | tail -n1 | awk '{print $2}')
  [[ -n "$user" && "${user%%:*}" != 0 && "${user%%:*}" != root ]] || { echo "final image runs as root"; return 1; }
  grep -q 'go build .*\./cmd/stampede' "$f" || { echo "does not build ./cmd/stampede"; return 1; }
  if [[ ! -f .dockerignore ]] || ! grep -qx '.git' .dockerignore; then
    echo ".dockerignore missing or lets .git in"
    return 1
  fi
  dockerfile_platform_args "$f"
  dockerfile_layout "$f"
}

# dockerfile_layout FILE: the final image finds its binary on its PATH and
# Go's TLS finds the CA bundle where it looks first on Linux.
dockerfile_layout() {
  local f=$1 final path bin_dir
  final=$(awk '/^FROM /{buf=""} {buf = buf $0 "\n"} END{printf "%s", buf}' "$f")
  grep -Eq '^COPY .*/etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt$' <<<"$final" ||
    { echo "$f: the final stage does not copy the CA bundle to /etc/ssl/certs/ca-certificates.crt"; return 1; }
  path=$(sed -n 's/^ENV .*PATH=\([^ ]*\).*/\1/p' <<<"$final")
  bin_dir=$(sed -n 's|^COPY --from=build /out/stampede \(.*\)/stampede$|\1|p' <<<"$final")
  [[ -n "$bin_dir" ]] || { echo "$f: the final stage does not copy the stampede binary"; return 1; }
  [[ ":$path:" == *":$bin_dir:"* ]] || { echo "$f: stampede is in $bin_dir, not on PATH=$path (ENTRYPOINT [\"stampede\"] would not start)"; return 1; }
}

# dockerfile_platform_args FILE: BuildKit's platform ARGs (TARGETOS,
# TARGETARCH, ...) are set from --platform only when declared without a
# default; and the stage that runs `go build` must declare the ones it uses
# (an ARG is scoped to its stage), or the binary is built for the builder.
dockerfile_platform_args() {
  # one logical line per instruction: continuation lines joined
  awk '{ if (sub(/\\$/, "")) { buf = buf $0 " "; next } print buf $0; buf = "" }' "$1" | awk -v f="$1" '
    /^FROM /            { delete declared; next }
    /^ARG (TARGET|BUILD)(PLATFORM|OS|ARCH|VARIANT)=/ {
      print f ": " $0 ": a default defeats BuildKit (every platform would get the same binary)"; bad = 1 }
    /^ARG (TARGET|BUILD)(PLATFORM|OS|ARCH|VARIANT)$/ { declared[$2] = 1 }
    /^RUN .*go build/ {
      built = 1
      if (!/GOOS=\$\{?TARGETOS\}?[ ]/ || !/GOARCH=\$\{?TARGETARCH\}?[ ]/) { print f ": the go build RUN does not set GOOS=$TARGETOS GOARCH=$TARGETARCH"; bad = 1 }
      if (!declared["TARGETOS"] || !declared["TARGETARCH"]) { print f ": the go build stage does not declare ARG TARGETOS and ARG TARGETARCH (an ARG is scoped to its stage)"; bad = 1 }
    }
    END {
      if (!built) { print f ": no RUN with go build"; bad = 1 }
      exit bad
    }'
}
check "Dockerfile: multi-stage, CGO_ENABLED=0, non-root, ENTRYPOINT stampede, EXPOSE 8089 5557, .dockerignore, platform ARGs" dockerfile_ok
dockerfile_arg_default() {
  sed 's/^ARG TARGETARCH$/ARG TARGETARCH=amd64/' Dockerfile >"$work/Dockerfile.default"
  dockerfile_platform_args "$work/Dockerfile.default"
}
check_fails "Dockerfile check rejects ARG TARGETARCH=amd64 (BuildKit's platform ignored)" 'TARGETARCH=amd64: a default defeats BuildKit' dockerfile_arg_default

# ---------------------------------------------------------------------------
# Image tags: the release in deploy/VERSION everywhere by default, never
# :latest (a worker added after a release would run another version than
# its master, which refuses another major.minor).

release_pinned() { # [ROOT]: the files to read (a mutated copy in tests)
  local r=${1:-.} v tfimg app bad=0
  v=$(cat "$r/deploy/VERSION")
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "deploy/VERSION '$v' is not MAJOR.MINOR.PATCH"; return 1; }
  app=$(sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$r/deploy/helm/stampede/Chart.yaml")
  [[ "$app" == "$v" ]] || { echo "Chart.yaml appVersion '$app' is not deploy/VERSION $v"; bad=1; }
  tfimg=$(awk '/^variable "image"/{on=1} on && /default/{print; exit}' "$r/deploy/terraform/azure-aci/variables.tf" | sed 's/.*"\(.*\)".*/\1/')
  [[ "$tfimg" == *":$v" ]] || { echo "Terraform variable image defaults to '$tfimg', not the release $v"; bad=1; }
  if grep -rn ':latest\b\|IMAGE_TAG.*latest\|appVersion: *"\{0,1\}latest' "$r/deploy" "$r/.github/workflows" --include='*.tf' --include='*.yml' --include='*.yaml' --include='*.sh' --include='*.tpl' |
    grep -v 'type=raw,value=latest' | grep -v 'is refused' | grep -v 'test-scripts.sh'; then
    echo "a :latest image above"
    bad=1
  fi
  return "$bad"
}
check "image tags: deploy/VERSION = Chart appVersion = Terraform default image tag; no :latest" release_pinned
latest_planted() {
  rm -rf "$work/latest" && mkdir -p "$work/latest"
  cp -R deploy .github "$work/latest/"
  sed -i 's/^appVersion: .*/appVersion: "latest"/' "$work/latest/deploy/helm/stampede/Chart.yaml"
  release_pinned "$work/latest"
}
check_fails "image tag check rejects appVersion latest" "appVersion 'latest' is not deploy/VERSION" latest_planted

if [[ -d cmd/stampede ]]; then
  static_build() {
    # the Dockerfile adds -trimpath and -ldflags; left out here so that the
    # packages come from the build cache of the other CI steps
    CGO_ENABLED=0 go build -o "$work/stampede" ./cmd/stampede
    go version -m "$work/stampede" | grep -q 'CGO_ENABLED=0'
    if command -v file >/dev/null 2>&1; then file "$work/stampede" | grep -q 'statically linked'; fi
    "$work/stampede" --help >/dev/null
  }
  check "image build step: static stampede binary (CGO_ENABLED=0) that runs" static_build
  if [[ -x "$work/stampede" ]]; then
    check "stampede check: Terraform test script" "$work/stampede" check -f deploy/terraform/azure-aci/tests/fixtures/test.star
    fixture_bundle() {
      local fx=deploy/terraform/azure-aci/tests/fixtures
      "$work/stampede" bundle "$fx/bundle" -o "$work/bundle.tar.gz"
      # same entries, same contents (the gzip bytes may differ between Go releases)
      { cmp <(tar -tzf "$work/bundle.tar.gz") <(tar -tzf "$fx/bundle.tar.gz") &&
        cmp <(tar -xzOf "$work/bundle.tar.gz") <(tar -xzOf "$fx/bundle.tar.gz"); } ||
        { echo "$fx/bundle.tar.gz is stale: stampede bundle $fx/bundle -o $fx/bundle.tar.gz"; return 1; }
      "$work/stampede" check -f "$fx/bundle.tar.gz"
    }
    check "stampede bundle: the Terraform fixture bundle is current and loads" fixture_bundle
    chart_script() {
      awk '/^  content: \|/{on=1; next} on && /^[^ ]/{exit} on && /^    /{sub(/^    /,""); print} on && /^$/{print}' deploy/helm/stampede/values.yaml >"$work/chart-default.star"
      [[ -s "$work/chart-default.star" ]] && "$work/stampede" check -f "$work/chart-default.star"
    }
    check "stampede check: the Helm chart's default script" chart_script
  fi
  for target in ${DEPLOY_CHECKS_RELEASE_TARGETS:-}; do
    check "release target $target compiles" env CGO_ENABLED=0 GOOS="${target%/*}" GOARCH="${target#*/}" go build -o /dev/null ./cmd/stampede
  done
else
  skipped "image build step: cmd/stampede does not exist yet"
fi

# ---------------------------------------------------------------------------
# The stampede flags the deployment passes: documented in docs/cli-flags.md
# for the right subcommand, and (when the binary built) accepted by it.

# deployment_flags master|worker: the --flags the Terraform module and the
# Helm chart give that subcommand
deployment_flags() {
  local tf=deploy/terraform/azure-aci/containers.tf
  local split='resource "azurerm_container_group" "worker"'
  local t=deploy/helm/stampede/templates
  {
    if [[ $1 == master ]]; then
      sed "/$split/,\$d" "$tf"
      cat "$t/_helpers.tpl" "$t/master-deployment.yaml" "$t/master-job.yaml"
    else
      sed -n "/$split/,\$p" "$tf"
      cat "$t/worker-deployment.yaml"
    fi
  } | grep -oE -- '(^|[" ])--[a-z][a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+' | sort -u
}
# documented_flags master|worker: the flags docs/cli-flags.md lists for it
documented_flags() {
  local doc=docs/cli-flags.md sections
  if [[ $1 == master ]]; then sections='^## stampede (run|master)'; else sections='^## stampede worker'; fi
  awk -v re="$sections" '/^## /{on = ($0 ~ re)} on && /^\|/' "$doc" | cut -d'|' -f2 | grep -oE -- '--[a-z][a-z0-9-]*'
  echo --loglevel
  echo --config
}
flags_documented() {
  local cmd missing=0 f
  for cmd in master worker; do
    documented_flags "$cmd" | sort -u >"$work/doc-$cmd"
    deployment_flags "$cmd" >"$work/use-$cmd"
    [[ -s "$work/use-$cmd" ]] || { echo "found no flags for $cmd"; return 1; }
    for f in $(comm -23 "$work/use-$cmd" "$work/doc-$cmd"); do
      echo "stampede $cmd $f: used by the deployment, not in docs/cli-flags.md"
      missing=1
    done
  done
  return "$missing"
}
check "deployment's stampede flags are in the docs/cli-flags.md contract" flags_documented

if [[ -x "$work/stampede" ]]; then
  flags_accepted() {
    local cmd missing=0 f
    for cmd in master worker; do
      "$work/stampede" "$cmd" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u >"$work/help-$cmd"
      for f in $(comm -23 <(deployment_flags "$cmd") "$work/help-$cmd"); do
        echo "stampede $cmd $f: used by the deployment, unknown to the binary"
        missing=1
      done
    done
    return "$missing"
  }
  check "deployment's stampede flags are accepted by the built binary" flags_accepted
fi

# ---------------------------------------------------------------------------
# Terraform, against the schema-only provider.

tfdir=deploy/terraform/azure-aci
providers="$work/providers"
build_provider() {
  mkdir -p "$providers"
  (cd deploy/terraform/schema-provider && go vet ./... && go test -count=1 ./... && CGO_ENABLED=0 go build -o "$providers/terraform-provider-azurerm" .)
  cp "$providers/terraform-provider-azurerm" "$providers/terraform-provider-random"
  cp "$providers/terraform-provider-azurerm" "$providers/terraform-provider-tls"
  cat >"$work/terraform.rc" <<EOF
provider_installation {
  dev_overrides {
    "registry.terraform.io/hashicorp/azurerm" = "$providers"
    "registry.terraform.io/hashicorp/random"  = "$providers"
    "registry.terraform.io/hashicorp/tls"     = "$providers"
  }
  # no other installation method: nothing is ever downloaded
}
EOF
}
check "schema provider: vet, unit tests, build" build_provider

# copy_module DEST: a fresh copy of the module (validate/test never touch the tree)
copy_module() {
  rm -rf "$1"
  mkdir -p "$1"
  cp -R "$tfdir/." "$1/"
  rm -rf "$1/.terraform" "$1/.terraform.lock.hcl"
}
tf() { # DIR ARGS...: terraform with the schema-only provider, in DIR
  local dir=$1
  shift
  (cd "$dir" && TF_CLI_CONFIG_FILE="$work/terraform.rc" terraform "$@" -no-color)
}
# inject DIR FILE SED-EXPR: edit a copy, and insist that the edit happened
inject() {
  local before
  before=$(cksum <"$1/$2")
  sed -i -e "$3" "$1/$2"
  [[ "$(cksum <"$1/$2")" != "$before" ]] || { echo "injection '$3' changed nothing in $2" >&2; return 1; }
}

if command -v terraform >/dev/null 2>&1 && [[ -f "$work/terraform.rc" ]]; then
  check "terraform fmt -check (deploy/terraform)" terraform fmt -check -recursive -diff deploy/terraform

  copy_module "$work/tf/ok"
  check "terraform validate (azure-aci, schema-only providers)" tf "$work/tf/ok" validate
  check "terraform test (plans: 0 workers, 1 worker, 8 over 3 regions, headless)" tf "$work/tf/ok" test

  misspelled() {
    copy_module "$work/tf/typo"
    inject "$work/tf/typo" containers.tf '0,/restart_policy      = local.restart_policy/s//restart_polcy       = local.restart_policy/'
    tf "$work/tf/typo" validate
  }
  check_fails "terraform validate rejects a misspelled argument (restart_polcy)" 'Unsupported argument.*restart_polcy|restart_polcy.*not expected' misspelled

  misspelled_nested() {
    copy_module "$work/tf/typo2"
    inject "$work/tf/typo2" containers.tf '0,/mount_path = local.script_dir/s//mount_pth  = local.script_dir/'
    tf "$work/tf/typo2" validate
  }
  check_fails "terraform validate rejects a misspelled nested argument (volume.mount_pth)" 'Unsupported argument|mount_pth' misspelled_nested

  missing_required() {
    copy_module "$work/tf/missing"
    inject "$work/tf/missing" main.tf '/account_replication_type *= "LRS"/d'
    tf "$work/tf/missing" validate
  }
  check_fails "terraform validate rejects a missing required argument (account_replication_type)" 'Missing required argument' missing_required

  wrong_value() {
    copy_module "$work/tf/value"
    inject "$work/tf/value" containers.tf 's/os_type             = "Linux"/os_type             = "Linus"/'
    tf "$work/tf/value" validate
  }
  check_fails "terraform validate rejects a value outside the documented set (os_type)" 'Invalid value|Linus' wrong_value

  broken_placement() {
    copy_module "$work/tf/placement"
    inject "$work/tf/placement" containers.tf 's/var.worker_regions\[i % length(var.worker_regions)\]/var.worker_regions[0]/'
    tf "$work/tf/placement" test
  }
  check_fails "terraform test catches broken round-robin placement" 'round-robin' broken_placement

  # plan_json DIR OUT TF-ARGS...: the saved plan of a module copy, as JSON
  # (the backend block is dropped: plans here have no remote state)
  plan_json() {
    local dir=$1 out=$2
    shift 2
    sed -i '/backend "azurerm" {}/d' "$dir/versions.tf"
    tf "$dir" plan -input=false -out="$out.plan" -var script_path=tests/fixtures/test.star "$@" >"$out.log"
    tf "$dir" show -json "$out.plan" >"$out"
  }
  # master_unchanged_on_scale DIR: ACI recreates a container group whose
  # definition changes; the master's planned definition must be the same
  # for 3 and for 5 workers, or scaling loses the running test and the UI.
  master_unchanged_on_scale() {
    local dir=$1 n
    for n in 3 5; do
      plan_json "$dir" "$dir/scale$n.json" -var workers=$n -var 'worker_regions=["westeurope","eastus"]'
      jq -S '.resource_changes[] | select(.address == "azurerm_container_group.master[0]") | .change | {after, after_unknown, after_sensitive}' \
        "$dir/scale$n.json" >"$dir/master$n.json"
      [[ -s "$dir/master$n.json" ]] || { echo "no master in the plan for $n workers"; return 1; }
      [[ $(jq '[.resource_changes[] | select(.address | startswith("azurerm_container_group.worker["))] | length' "$dir/scale$n.json") == "$n" ]] ||
        { echo "the plan for $n workers does not have $n worker groups"; return 1; }
    done
    if ! diff -u "$dir/master3.json" "$dir/master5.json"; then
      echo "the master's container group differs between 3 and 5 workers: scaling would replace it"
      return 1
    fi
    # what the two plans cannot compare: a value of the workers' container
    # groups (unknown in both plans, different after apply). The master
    # must not depend on them, directly or through locals.
    tf "$dir" graph -type=plan >"$dir/graph.dot"
    python3 - "$dir/graph.dot" <<'PY'
import re, sys
edges = {}
for a, b in re.findall(r'"\[root\] ([^"]+?)(?: \(expand\))?" -> "\[root\] ([^"]+?)(?: \(expand\))?"', open(sys.argv[1]).read()):
    edges.setdefault(a, set()).add(b)
seen, todo = set(), ["azurerm_container_group.master"]
while todo:
    for b in edges.get(todo.pop(), ()):
        if b not in seen:
            seen.add(b)
            todo.append(b)
bad = sorted(n for n in seen if n.startswith("azurerm_container_group.worker"))
if "azurerm_container_group.master" not in edges or bad:
    sys.exit(f"the master's container group depends on {bad or 'nothing (no graph)'}: its definition would change when workers are added")
PY
  }
  # plan_wired DIR MODE: the plan's containers are wired to each other
  # (.ci/plan-wiring.jq: files in mounted volumes, worker and master ports)
  plan_wired() {
    local dir=$1 mode=$2 out
    out="$dir/wiring-$mode.json"
    if [[ $mode == headless ]]; then
      plan_json "$dir" "$out" -var workers=2 -var mode=headless -var run_time=1m -var run_id=wiring-1
    else
      plan_json "$dir" "$out" -var workers=2 -var run_id=wiring-1
    fi
    local problems
    problems=$(jq -r -f .ci/plan-wiring.jq "$out")
    [[ -z "$problems" ]] || { echo "$problems"; return 1; }
  }
  copy_module "$work/tf/wiring"
  check "terraform plan wiring (headless): files in mounted volumes, workers dial the master's port" plan_wired "$work/tf/wiring" headless
  check "terraform plan wiring (webui): files in mounted volumes, web and worker ports open" plan_wired "$work/tf/wiring" webui

  copy_module "$work/tf/scale"
  check "terraform plan: scaling a web UI deployment 3 -> 5 workers leaves the master unchanged" master_unchanged_on_scale "$work/tf/scale"
  scale_replaces_master() {
    copy_module "$work/tf/scale-bad"
    inject "$work/tf/scale-bad" containers.tf 's/    : \["--web-port", "8089"\],/    : ["--web-port", "8089", "--expect-workers", tostring(var.workers)],/'
    master_unchanged_on_scale "$work/tf/scale-bad"
  }
  check_fails "terraform plan check catches a web UI master that depends on the worker count" 'differs between 3 and 5 workers' scale_replaces_master

  # Run the plan: every container group a process of the built binary in
  # its own network namespace, its secret volumes mounted, the master's FQDN
  # resolving to it, Azurite as the storage account (.ci/tf-run.py, which
  # also plays "apply" for what the schema-only provider leaves unknown).
  # Needs root for the namespaces.
  if [[ $(id -u) == 0 && -x "$work/stampede" ]] && command -v ip >/dev/null 2>&1 && command -v unshare >/dev/null 2>&1 &&
    command -v openssl >/dev/null 2>&1 && command -v curl >/dev/null 2>&1; then
    tf_run() { # MODE TF-ARGS...
      local mode=$1 dir="$work/tf/run-$1"
      shift
      copy_module "$dir"
      sed -i '/backend "azurerm" {}/d' "$dir/versions.tf"
      TF_CLI_CONFIG_FILE="$work/terraform.rc" timeout 200 python3 .ci/tf-run.py "$dir" "$work/stampede" "$mode" \
        -var results_probe_wait=10s "$@"
    }
    check "terraform run (headless, 2 workers in network namespaces, Azurite): exit 0, load from each worker, results blobs under the run id" \
      tf_run headless -var script_path=tests/fixtures/test.star -var workers=2 -var mode=headless -var run_time=3s -var run_id=tfrun-1 \
      -var target_host=http://10.232.0.100:8080 -var expect_workers_max_wait=20s
    check "terraform run (web UI): 401 without or with a wrong password, 200 with the Key Vault web password" \
      tf_run webui -var script_path=tests/fixtures/test.star -var workers=1
    check "terraform run (headless, a multi-file bundle, 3 workers over 2 regions)" \
      tf_run headless -var script_path=tests/fixtures/bundle.tar.gz -var workers=3 -var 'worker_regions=["westeurope","eastus"]' \
      -var mode=headless -var run_time=3s -var run_id=tfrun-2 -var target_host=http://10.232.0.100:8080 -var expect_workers_max_wait=20s
  else
    skipped "terraform run in network namespaces: needs root, ip, unshare, openssl and curl"
  fi

  restarting_headless() {
    copy_module "$work/tf/restart"
    inject "$work/tf/restart" containers.tf 's/local.headless ? "Never" : "Always"/"Always"/'
    tf "$work/tf/restart" test
  }
  check_fails "terraform test catches a headless master that restarts" 'must not be restarted' restarting_headless
else
  if ! command -v terraform >/dev/null 2>&1; then
    skipped "terraform fmt/validate/test and their negative checks: terraform is not installed on this machine"
  else
    skipped "terraform validate/test: the schema-only provider did not build (see above)"
  fi
fi

# ---------------------------------------------------------------------------
# GitHub workflows: actionlint, which runs shellcheck on every run: script.

if wait_tool actionlint; then
  check "actionlint (with shellcheck) on .github/workflows" actionlint -shellcheck="$(command -v shellcheck || true)" .github/workflows/*.yml
  check "headless workflow structure: teardown after the run whatever happened, results steps always()" python3 .ci/workflow-structure.py .github/workflows/headless.yml

  broken_workflow() { # NAME SED-EXPR FILE
    rm -rf "$work/wf/$1" && mkdir -p "$work/wf/$1/.github/workflows"
    cp .github/workflows/*.yml "$work/wf/$1/.github/workflows/"
    inject "$work/wf/$1/.github/workflows" "$3" "$2"
    (cd "$work/wf/$1" && actionlint -shellcheck="$(command -v shellcheck || true)" ".github/workflows/$3")
  }
  check_fails "actionlint rejects a workflow with a misspelled key (runs_on)" 'runs_on|"runs-on" section is missing' \
    broken_workflow key '0,/runs-on:/s//runs_on:/' headless.yml
  check_fails "actionlint rejects a reference to an undefined step" 'property "waiting" is not defined' \
    broken_workflow expr 's/steps.wait.outputs.exit_code/steps.waiting.outputs.exit_code/' headless.yml
  # shellcheck disable=SC2016 # the injected script is meant to be broken
  check_fails "actionlint + shellcheck reject a broken run: script" 'shellcheck reported issue' \
    broken_workflow shell 's|run: bash .ci/run|run: for f in $(ls *.txt); do rm $f; done|' ci.yml
else
  check "actionlint $ACTIONLINT_VERSION installed" false
fi

# ---------------------------------------------------------------------------
# Helm chart.

chart=deploy/helm/stampede
if wait_tool helm; then
  check "helm lint (default values)" helm lint "$chart" --strict
  check "helm lint (headless values)" helm lint "$chart" --strict -f "$chart/ci/headless-values.yaml"

  template_default() {
    helm template t "$chart" >"$work/default.yaml"
    grep -q '^kind: Deployment' "$work/default.yaml"
    absent '^kind: Job' "$work/default.yaml"
    grep -q 'name: t-stampede-master' "$work/default.yaml"
    grep -q 'name: t-stampede-worker$' "$work/default.yaml"
    grep -q 'containerPort: 8089' "$work/default.yaml"
    grep -q 'containerPort: 5557' "$work/default.yaml"
    grep -q 'key: web-auth' "$work/default.yaml"
    grep -q 'key: cluster-token' "$work/default.yaml"
    grep -q 'stampede.io/region: "local"' "$work/default.yaml"
    grep -q 'preferredDuringSchedulingIgnoredDuringExecution' "$work/default.yaml"
    grep -q 'runAsNonRoot: true' "$work/default.yaml"
    grep -q "image: ghcr.io/stampede-load/stampede:$(cat deploy/VERSION)\$" "$work/default.yaml"
  }
  check "helm template (default): master Deployment + Service 8089/5557, workers, auth Secret" template_default
  helm_wired() { # ARGS...: helm template args; the rendering's wiring (.ci/helm-wiring.py)
    helm template t "$chart" "$@" | python3 .ci/helm-wiring.py stampede-tls my-auth
  }
  check "helm wiring (default): workers dial the master Service, files in volumes, secret keys" helm_wired
  check "helm wiring (headless, TLS, regions)" helm_wired -f "$chart/ci/headless-values.yaml"
  check "helm wiring (zero workers)" helm_wired --set worker.replicas=0
  check "helm wiring (existing secret)" helm_wired --set auth.existingSecret=my-auth
  check "helm wiring (bundle)" helm_wired --set-file script.bundle=<(base64 -w0 deploy/terraform/azure-aci/tests/fixtures/bundle.tar.gz)

  template_headless() {
    helm template t "$chart" -f "$chart/ci/headless-values.yaml" >"$work/headless.yaml"
    grep -q '^kind: Job' "$work/headless.yaml"
    [[ $(grep -c '^kind: Deployment' "$work/headless.yaml") == 2 ]]
    grep -q 'restartPolicy: Never' "$work/headless.yaml"
    grep -A1 -- '- --results-url' "$work/headless.yaml" | grep -q 'azblob://results'
    grep -q -- '- --headless' "$work/headless.yaml"
    grep -A1 -- '- --expect-workers$' "$work/headless.yaml" | grep -q '"5"'
    grep -A1 -- '- --results-probe-wait' "$work/headless.yaml" | grep -q '"10m"'
    absent 'containerPort: 8089' "$work/headless.yaml"
    absent 'key: web-auth' "$work/headless.yaml"
    grep -q 'stampede.io/region: "eastus"' "$work/headless.yaml"
    grep -q 'requiredDuringSchedulingIgnoredDuringExecution' "$work/headless.yaml"
  }
  check "helm template (headless): master Job with --results-url, no web UI, 2 regional worker Deployments" template_headless

  check_fails "helm lint rejects an invalid value (worker.antiAffinity)" 'antiAffinity' \
    helm lint "$chart" --set worker.antiAffinity=sometimes
  check_fails "helm lint rejects a misspelled value (worker.replica=5)" 'replica.*not allowed|Additional property replica' \
    helm lint "$chart" --strict --set worker.replica=5
  check_fails "helm template rejects image.tag=latest" 'image.tag latest: pin a release' \
    helm template t "$chart" --set image.tag=latest

  # master_doc FILE: the master Deployment of a rendered chart (release t)
  master_doc() { awk 'BEGIN { RS = "\n---\n" } /kind: Deployment/ && /name: t-stampede-master\n/' "$1"; }
  # web UI master with workers scaled to 0: the master stays up, its
  # arguments do not depend on the worker count
  template_zero_workers() {
    helm template t "$chart" --set worker.replicas=0 >"$work/zero.yaml"
    helm template t "$chart" --set worker.replicas=7 >"$work/seven.yaml"
    grep -q 'replicas: 0' "$work/zero.yaml"
    if grep -n -- '--expect-workers' "$work/zero.yaml"; then echo "the web UI master must not get --expect-workers"; return 1; fi
    # the master Deployment is the same for 0 and 7 workers
    diff <(master_doc "$work/zero.yaml") <(master_doc "$work/seven.yaml")
    [[ -n "$(master_doc "$work/zero.yaml")" ]]
  }
  check "helm template (worker.replicas=0): no --expect-workers; master Deployment the same for 0 and 7 workers" template_zero_workers
  check_fails "helm template rejects a headless run without workers" 'needs at least one worker' \
    helm template t "$chart" -f "$chart/ci/headless-values.yaml" --set worker.groups=null --set worker.replicas=0

  template_bundle() {
    local b64
    b64=$(base64 -w0 deploy/terraform/azure-aci/tests/fixtures/bundle.tar.gz)
    helm template t "$chart" --set-file script.bundle=<(printf %s "$b64") >"$work/bundle.yaml"
    grep -qF "test.tar.gz: \"$b64\"" "$work/bundle.yaml"
    grep -A1 -- '- -f$' "$work/bundle.yaml" | grep -q '/etc/stampede/script/test.tar.gz'
  }
  check "helm template (script.bundle): the bundle in the ConfigMap, the master loads test.tar.gz" template_bundle

  # Run the rendered chart: every pod a process of the built binary in its
  # own network namespace, volumes mounted, env from the rendered Secret,
  # Service names resolving to the pods (.ci/helm-run.py); the target sees
  # requests from each worker. Needs root for the namespaces.
  if [[ $(id -u) == 0 && -x "$work/stampede" ]] && command -v ip >/dev/null 2>&1 && command -v unshare >/dev/null 2>&1; then
    helm_run() { # ARGS...: extra helm template args
      helm template t "$chart" --set headless.enabled=true --set test.runTime=3s --set worker.replicas=2 \
        --set test.host=http://10.231.0.100:8080 --set headless.expectWorkersMaxWait=30s "$@" |
        timeout 150 python3 .ci/helm-run.py "$work/stampede" 10.231.0.100
    }
    check "helm run (headless Job + 2 workers in network namespaces): exit 0, load from each worker" helm_run
    check "helm run (a multi-file bundle): the workers run the bundle's files" \
      helm_run --set-file script.bundle=<(base64 -w0 deploy/terraform/azure-aci/tests/fixtures/bundle.tar.gz)
    # auth.existingSecret: the chart renders no Secret of its own, so the
    # harness is given the user's (its keys are what the pods must read).
    helm_run_existing_secret() {
      local tok
      tok=$(head -c 24 /dev/urandom | base64 -w0)
      {
        helm template t "$chart" --set headless.enabled=true --set test.runTime=3s --set worker.replicas=2 \
          --set test.host=http://10.231.0.100:8080 --set headless.expectWorkersMaxWait=30s --set auth.existingSecret=my-auth
        printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: my-auth\ndata:\n  cluster-token: %s\n  web-auth: %s\n' \
          "$(printf %s "$tok" | base64 -w0)" "$(printf stampede:%s "$tok" | base64 -w0)"
      } | timeout 150 python3 .ci/helm-run.py "$work/stampede" 10.231.0.100
    }
    check "helm run (auth.existingSecret): master and workers read the user's Secret" helm_run_existing_secret
    # tls.secretName: the user's certificate Secret (a CA and a master
    # certificate for the Service name the workers dial), given to the
    # harness as kubectl would have created it; the workers must verify.
    helm_run_tls() {
      local d=$work/tls
      mkdir -p "$d"
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=test-ca \
        -keyout "$d/ca.key" -out "$d/ca.crt" 2>/dev/null
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=t-stampede-master \
        -keyout "$d/tls.key" -out "$d/tls.csr" 2>/dev/null
      openssl x509 -req -in "$d/tls.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -days 1 \
        -extfile <(printf 'subjectAltName=DNS:t-stampede-master\n') -out "$d/tls.crt" 2>/dev/null
      {
        helm template t "$chart" --set headless.enabled=true --set test.runTime=3s --set worker.replicas=2 \
          --set test.host=http://10.231.0.100:8080 --set headless.expectWorkersMaxWait=30s --set tls.secretName=stampede-tls
        printf -- '---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: stampede-tls\ndata:\n'
        local k
        for k in tls.crt tls.key ca.crt; do printf '  %s: %s\n' "$k" "$(base64 -w0 "$d/$k")"; done
      } | timeout 150 python3 .ci/helm-run.py "$work/stampede" 10.231.0.100
    }
    check "helm run (tls.secretName): workers verify the master's certificate over TLS" helm_run_tls
    # The web-UI master (a Deployment): asked by its Service name with the
    # rendered Secret's web-auth, two tests started and stopped through the
    # API (.ci/helm-run.py's web_ui).
    helm_run_web() { # ARGS...: extra helm template args
      helm template t "$chart" --set test.host=http://10.231.0.100:8080 "$@" |
        timeout 150 python3 .ci/helm-run.py "$work/stampede" 10.231.0.100
    }
    check "helm run (web UI, default values, master.resultsUrl=file:///tmp): 401 without / 200 with the Secret's password; 2 tests via /swarm, /stop load from each worker; a results folder per test" \
      helm_run_web --set master.resultsUrl=file:///tmp
    check "helm run (worker.replicas=0): the web UI master stays up and serves with no workers; a worker scaled up joins and runs the tests" \
      helm_run_web --set worker.replicas=0
  else
    skipped "helm run in network namespaces: needs root, ip and unshare"
  fi

  template_pod_labels() {
    helm template t "$chart" -f "$chart/ci/headless-values.yaml" \
      --set-string 'master.podLabels.azure\.workload\.identity/use=true' --set-string 'worker.podLabels.team=perf' >"$work/labels.yaml"
    awk 'BEGIN{RS="---"} /kind: Job/' "$work/labels.yaml" | grep -q 'azure.workload.identity/use: "true"'
    [[ $(grep -c 'team: perf' "$work/labels.yaml") == 2 ]]
  }
  check "helm template: master.podLabels (workload identity) and worker.podLabels reach the pods" template_pod_labels

  # Web-UI mode uploads each test's results when it stops: the master
  # Deployment (not only the headless Job) gets --results-url and the
  # storage credentials' Secret.
  template_webui_results() {
    helm template t "$chart" --set master.resultsUrl=azblob://results --set master.envFromSecret=storage >"$work/webui-results.yaml"
    local dep
    dep=$(awk 'BEGIN { RS = "\n---\n" } /kind: Deployment/ && /component: master/' "$work/webui-results.yaml")
    grep -A1 -- '- --results-url' <<<"$dep" | grep -q '"azblob://results"'
    grep -A2 'envFrom:' <<<"$dep" | grep -q 'name: storage'
    # and nothing of it without the value
    ! grep -q -- '--results-url' "$work/default.yaml"
  }
  check "helm template (web UI, master.resultsUrl): the master Deployment uploads every test's results" template_webui_results

  # The headless Job must render the same on every upgrade of a revision
  # (no time in it), and each revision gets its own Job and run id.
  template_stable_run_id() {
    local no_id=(-f "$chart/ci/headless-values.yaml" --set headless.runId=)
    helm template t "$chart" "${no_id[@]}" >"$work/run1.yaml"
    sleep 1.1
    helm template t "$chart" "${no_id[@]}" >"$work/run2.yaml"
    # the Job (the generated Secret differs on every render, as in install)
    diff <(awk 'BEGIN { RS = "\n---\n" } /kind: Job/' "$work/run1.yaml") <(awk 'BEGIN { RS = "\n---\n" } /kind: Job/' "$work/run2.yaml")
    grep -q 'name: t-stampede-master-1$' "$work/run1.yaml"
    grep -A1 -- '- --run-id' "$work/run1.yaml" | grep -q '"t-1"'
  }
  check "helm template (headless, no runId): no time in the Job; Job and run id per revision (t-stampede-master-1, t-1)" template_stable_run_id
  check_fails "helm template rejects a headless run without run time" 'needs test.runTime' \
    helm template t "$chart" --set headless.enabled=true
else
  check "helm $HELM_VERSION installed" false
fi

# ---------------------------------------------------------------------------
# Docs: every Terraform variable and output, workflow input and chart value
# that docs/deploy-azure.md and docs/deploy-kubernetes.md tell a user to type
# exists (.ci/doc-names.py).

check "docs: the variables, outputs, workflow inputs and chart values the deploy docs name exist" python3 .ci/doc-names.py
doc_name_planted() {
  rm -rf "$work/docs" && mkdir -p "$work/docs/docs"
  cp -R deploy .github "$work/docs/"
  sed 's/^reader_principal_ids = /reader_principals = /' docs/deploy-azure.md >"$work/docs/docs/deploy-azure.md"
  sed 's/--set master.resultsUrl=/--set master.resultUrl=/' docs/deploy-kubernetes.md >"$work/docs/docs/deploy-kubernetes.md"
  python3 .ci/doc-names.py "$work/docs"
}
check_fails "docs check rejects a variable and a value that do not exist" 'reader_principals: no such Terraform variable' doc_name_planted

echo
if ((skip > 0)); then
  echo "deploy-checks: $pass passed, $fail failed, $skip skipped"
else
  echo "deploy-checks: $pass passed, $fail failed"
fi
((fail == 0))
