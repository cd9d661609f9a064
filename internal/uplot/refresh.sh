#!/usr/bin/env bash
# Refreshes the vendored uPlot files (internal/uplot) from
# the npm registry, so the web UI needs no CDN and `go build` needs no Node.
# Usage: internal/uplot/refresh.sh [VERSION]   (default: the pinned one)
set -euo pipefail
VERSION="${1:-1.6.32}"
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "uplot@$VERSION" >/dev/null)
tar -xzf "$tmp"/uplot-"$VERSION".tgz -C "$tmp"
mkdir -p "$dest"
cp "$tmp/package/dist/uPlot.iife.min.js" "$tmp/package/dist/uPlot.min.css" "$tmp/package/LICENSE" "$dest/"
echo "$VERSION" > "$dest/VERSION"
echo "uPlot $VERSION vendored into $dest"
