// Package uplot holds the vendored uPlot chart library (MIT, see LICENSE),
// shared by the web UI, which serves it, and the HTML report, which inlines
// it so a report file needs nothing from any other place. Refresh it with
// internal/uplot/refresh.sh VERSION.
package uplot

import (
	"embed"
	"strings"
)

// Files holds uPlot.iife.min.js, uPlot.min.css, LICENSE and VERSION.
//
//go:embed uPlot.iife.min.js uPlot.min.css LICENSE VERSION
var Files embed.FS

// JS is the minified library; it defines the global uPlot.
//
//go:embed uPlot.iife.min.js
var JS string

// CSS is the library's style sheet.
//
//go:embed uPlot.min.css
var CSS string

// License is uPlot's MIT license text.
//
//go:embed LICENSE
var License string

//go:embed VERSION
var version string

// Version is the vendored uPlot version, e.g. "1.6.32".
func Version() string { return strings.TrimSpace(version) }
