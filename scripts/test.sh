#!/usr/bin/env bash
# The project's test command (`make test`, and what CI runs): installs what
# the tests need (idempotent, quiet), starts the services they use, checks
# gofmt, go vet and staticcheck, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PATH:$(go env GOPATH)/bin"
export PATH
lint_only=false
[ "${1:-}" = "--lint-only" ] && lint_only=true

step() { printf '\n== %s\n' "$*"; }

step "lint: gofmt, go vet, staticcheck"
unformatted=$(git ls-files -z '*.go' | xargs -0 gofmt -l)
if [ -n "$unformatted" ]; then
  echo "not gofmt-formatted:"; echo "$unformatted"; exit 1
fi
go vet ./...
command -v staticcheck >/dev/null || go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
staticcheck ./...
$lint_only && exit 0

# Installs and services for the feature tests; each script is idempotent.
step "setup: chromium (web UI browser tests)"
bash .ci/web.sh
step "setup: iproute2, protoc (cluster tests)"
bash .ci/cluster.sh
step "setup: Azurite (results upload tests)"
# sourced: it exports STAMPEDE_TEST_AZURITE for the tests
# shellcheck disable=SC1091
source .ci/azurite.sh

step "go test"
go test -count=1 -timeout 20m ./...

if [ -f .ci/deploy-checks.sh ]; then
  step "deployment checks"
  bash .ci/deploy-checks.sh
fi
