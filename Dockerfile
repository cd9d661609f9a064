# syntax=docker/dockerfile:1
#
# One image for every role: `stampede master ...`, `stampede worker ...`,
# `stampede run --headless ...`, chosen by the arguments (or STAMPEDE_* env).
#
#   docker build -t stampede .
#   docker run --rm -p 8089:8089 -v "$PWD/examples:/scripts:ro" stampede run -f /scripts/minimal.star
#
# Multi-arch: docker buildx build --platform linux/amd64,linux/arm64 .
# The build stage runs on the builder's own platform and cross-compiles.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
# No defaults: BuildKit fills these from --platform, and a default would
# override it (an arm64 image with an amd64 binary).
ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
# Go build tags: the default image is the default build (azblob:// and
# file:// results URLs); --build-arg TAGS=allclouds adds s3:// and gs://
# (docs/reports.md, "Results upload").
ARG TAGS=
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -tags "$TAGS" -ldflags="-s -w -X github.com/stampede-load/stampede/internal/cli.Version=${VERSION}" -o /out/stampede ./cmd/stampede
# A writable home and /tmp for the non-root user, and a passwd entry for it.
RUN mkdir -p /out/rootfs/home/stampede /out/rootfs/tmp /out/rootfs/etc \
    && chmod 1777 /out/rootfs/tmp \
    && chown 65532:65532 /out/rootfs/home/stampede \
    && printf 'stampede:x:65532:65532:stampede:/home/stampede:/sbin/nologin\n' > /out/rootfs/etc/passwd \
    && printf 'stampede:x:65532:\n' > /out/rootfs/etc/group

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/rootfs/ /
COPY --from=build /out/stampede /usr/local/bin/stampede
ENV PATH=/usr/local/bin HOME=/home/stampede
WORKDIR /home/stampede
USER 65532:65532
# 8089: web UI (and /metrics); 5557: the worker port of a master.
EXPOSE 8089 5557
ENTRYPOINT ["stampede"]
CMD ["--help"]
