# The README's two commands are `make demo` and `make test`; .ci/run runs
# `make test`.
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/stampede-load/stampede/internal/cli.Version=$(VERSION)

.PHONY: build demo test lint generate

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o stampede ./cmd/stampede

# A real load test, end to end, against the built-in demo target.
demo: build
	bash scripts/demo.sh

# Everything CI runs: installs what the tests need, starts their services,
# checks formatting, vet and staticcheck, runs every test.
test:
	bash scripts/test.sh

lint:
	bash scripts/test.sh --lint-only

generate:
	$(GO) generate ./...
