package report

import (
	"html/template"
	"strings"

	"github.com/stampede-load/stampede/internal/uplot"
)

// initJS turns every line chart's inline data (chartData) into a uPlot
// chart drawn over its SVG: hovering shows the values at that time in the
// legend, dragging across zooms in (double-click zooms out), clicking a
// legend entry hides or shows its line. Without scripts, or if anything
// here fails, the SVG stays. It reads only the page itself.
const initJS = `(function () {
  "use strict";
  if (typeof uPlot === "undefined") return;
  var plots = [];
  // Time labels on a 24-hour UTC clock, the date only where it changes:
  // uPlot's "12/1/26 5:07am" under the first tick runs into its
  // neighbours on a narrow chart.
  var timeLabels = [
    [86400, "{MM}-{DD}", "\n{YYYY}", null, null, null, null, null, 1],
    [60, "{HH}:{mm}", "\n{MM}-{DD}", null, "\n{MM}-{DD}", null, null, null, 1],
    [1, ":{ss}", "\n{HH}:{mm}", null, "\n{HH}:{mm}", null, "\n{HH}:{mm}", null, 1],
    [0.001, ":{ss}.{fff}", "\n{HH}:{mm}", null, "\n{HH}:{mm}", null, "\n{HH}:{mm}", null, 1]
  ];
  function width(fig) { return Math.max(280, Math.min(1100, fig.clientWidth || 960)); }
  function num(v) {
    if (v == null) return "–";
    var a = Math.abs(v);
    return a >= 100 ? v.toFixed(0) : a >= 1 ? v.toFixed(2) : v.toFixed(3);
  }
  document.querySelectorAll("figure.chart > script.chart-data").forEach(function (el) {
    var fig = el.parentNode, d;
    try { d = JSON.parse(el.textContent); } catch (e) { return; }
    var box = document.createElement("div");
    box.className = "uchart";
    fig.insertBefore(box, el);
    var series = [{ label: "time (UTC)", value: "{YYYY}-{MM}-{DD} {HH}:{mm}:{ss}" }];
    d.series.forEach(function (s) {
      series.push({ label: s.label, stroke: s.stroke, width: 1.6, spanGaps: false,
        value: function (u, v) { return num(v); } });
    });
    var data = [d.x].concat(d.series.map(function (s) { return s.values; }));
    try {
      var u = new uPlot({
        title: d.title, width: width(fig), height: 300,
        tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: true } },
        axes: [{ values: timeLabels }, { label: d.unit, size: 64 }],
        series: series
      }, data, box);
      plots.push({ u: u, fig: fig });
      fig.uplot = u; // for tools and tests
      fig.classList.add("live");
    } catch (e) {
      box.remove();
    }
  });
  var t;
  window.addEventListener("resize", function () {
    clearTimeout(t);
    t = setTimeout(function () {
      plots.forEach(function (p) { p.u.setSize({ width: width(p.fig), height: 300 }); });
    }, 100);
  });
})();`

// libJS is uPlot as the page inlines it: its banner names the project's
// web address, so the license text replaces it and the file holds no URL.
func libJS() string {
	code := uplot.JS
	if strings.HasPrefix(code, "/*!") {
		_, code, _ = strings.Cut(code, "\n")
	}
	return "/*! uPlot " + uplot.Version() + "\n" + strings.ReplaceAll(uplot.License, "*/", "* /") + "*/\n" + code
}

// scripts are the page's two inline scripts, uPlot and initJS, and
// uPlot's style sheet.
func scripts() (lib, init template.JS, css template.CSS) {
	return template.JS(libJS()), template.JS(initJS), template.CSS(uplot.CSS)
}
