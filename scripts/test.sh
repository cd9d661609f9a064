#!/usr/bin/env bash
# The project's test command (`make test`, and what CI runs): installs what
# the tests need (idempotent, quiet), starts the services they use, checks
# gofmt, go vet and staticcheck, then runs every test, the race detector on
# the concurrent packages and every fuzz target briefly (docs/testing.md).
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
# The optional results drivers (s3://, gs://) are behind build tags.
go vet -tags allclouds ./internal/results/ ./cmd/stampede/
command -v staticcheck >/dev/null || go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
staticcheck ./...
staticcheck -tags allclouds ./internal/results/
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
go test -count=1 -tags allclouds ./internal/results/

# The race detector over the packages with concurrency. -short skips the
# browser tests (minutes under -race, and the UI's concurrency is the
# server's, which the other web tests cover); tests that start subprocesses
# skip themselves under -race (their binaries have no detector), so the
# master/worker logic is checked by the in-process cluster tests.
step "go test -race (stats, runner, cluster, openmodel, web, engine, script, guard)"
go test -race -short -count=1 -timeout 15m ./internal/stats/ ./internal/runner/ ./internal/cluster/ \
  ./internal/openmodel/ ./internal/web/ ./internal/engine/ ./internal/script/ ./internal/guard/

step "fuzz: every fuzz target for ${STAMPEDE_FUZZTIME:-3s} (docs/testing.md)"
bash scripts/fuzz.sh

if [ -f .ci/deploy-checks.sh ]; then
  step "deployment checks"
  bash .ci/deploy-checks.sh
fi
