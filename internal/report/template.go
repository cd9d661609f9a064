package report

// pageHTML is the report page. It must not reference anything outside
// itself (no src=, href= to other documents, url(), @import or web
// fonts; scripts are inline and fetch nothing): the tests check it.
const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="{{.Generator}}">
<title>{{.Title}}</title>
<style>
:root{--fg:#1b1f24;--muted:#5b6470;--line:#d8dde3;--bg:#fff;--alt:#f5f7f9;--bad:#b3261e;--good:#1a7f37;--accent:#0072B2}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:20px 28px;border-bottom:1px solid var(--line);background:var(--alt)}
header h1{margin:0 0 4px;font-size:22px}
main{padding:8px 28px 40px;max-width:1400px}
nav a{margin-right:14px;color:var(--accent);text-decoration:none}
h2{margin:28px 0 10px;font-size:18px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{margin:18px 0 8px;font-size:15px}
.muted,.na{color:var(--muted)}
.na{font-style:italic}
table{border-collapse:collapse;margin:6px 0 12px;font-variant-numeric:tabular-nums}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:right;vertical-align:top}
th{background:var(--alt);font-weight:600}
td.l,th.l{text-align:left}
tr.total td{font-weight:600;background:var(--alt)}
table.kv td:first-child{text-align:left;color:var(--muted);white-space:nowrap}
table.kv td:last-child{text-align:left;word-break:break-all}
.wide{overflow-x:auto}
.bad{color:var(--bad);font-weight:600}
.good{color:var(--good);font-weight:600}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 14px;min-width:120px;background:var(--alt)}
.card b{display:block;font-size:20px}
.card span{color:var(--muted);font-size:12px}
.verdict{display:inline-block;padding:4px 12px;border-radius:4px;color:#fff;font-weight:600}
.verdict.pass{background:var(--good)}.verdict.fail{background:var(--bad)}
figure.chart{margin:10px 0 18px}
figure.chart svg{width:100%;max-width:1100px;height:auto;display:block}
.ct{font-size:14px;font-weight:600;fill:var(--fg)}
.grid{stroke:#e6e9ed;stroke-width:1}
.tick{stroke:#999}
.yl{font-size:11px;fill:var(--muted);text-anchor:end}
.xl{font-size:11px;fill:var(--muted);text-anchor:middle}
.unit{font-size:11px;fill:var(--muted);text-anchor:middle}
.legend span{margin-right:16px;font-size:12px}
.legend i{display:inline-block;width:12px;height:3px;margin-right:5px;vertical-align:middle}
pre{white-space:pre-wrap;margin:0;font-size:12px;text-align:left}
details summary{cursor:pointer}
ul.notes{margin:6px 0;padding-left:20px;color:var(--muted)}
ul.ratios{margin:4px 0;padding-left:18px;font-variant-numeric:tabular-nums}
.cards>div>ul.ratios{padding-left:0;list-style:none}
figure.chart.live>svg,figure.chart.live>figcaption{display:none}
.uchart{max-width:1100px}
.uchart .u-legend{font-size:12px}
.uchart .u-legend th,.uchart .u-legend td{border:0;background:none;padding:2px 4px}
.uchart .u-inline .u-value{min-width:4.5em}
@media print{nav{display:none}}
</style>
<style>{{.UPlotCSS}}</style>
</head>
<body>
<header>
<h1>{{.Title}}</h1>
<div class="muted">Source: {{.Source}} · made by {{.Generator}} on {{.Generated}}</div>
<nav><a href="#run">Run</a><a href="#summary">Summary</a>{{if .HasThresholds}}<a href="#thresholds">Thresholds</a>{{end}}<a href="#requests">Requests</a><a href="#charts">Charts</a><a href="#distribution">Distribution</a><a href="#ratios">Ratios</a>{{if .Regions}}<a href="#regions">Regions</a>{{end}}{{if or .Workers .Lost .WorkerTotals}}<a href="#workers">Workers</a>{{end}}<a href="#failures">Failures</a><a href="#exceptions">Errors</a></nav>
</header>
<main>
{{if .Notes}}<ul class="notes">{{range .Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}

<section id="run">
<h2>Run</h2>
<table class="kv">{{range .Params}}<tr><td>{{.K}}</td><td{{if .NA}} class="na"{{else if .Bad}} class="bad"{{end}}>{{.V}}</td></tr>{{end}}</table>
</section>

<section id="summary">
<h2>Summary</h2>
{{if .HasThresholds}}<p>Thresholds: {{if .Passed}}<span class="verdict pass">PASSED</span>{{else}}<span class="verdict fail">FAILED</span>{{end}}</p>{{end}}
<div class="cards">{{range .Cards}}<div class="card"><b{{if .Bad}} class="bad"{{else if .NA}} class="na"{{end}}>{{.V}}</b><span>{{.K}}</span></div>{{end}}</div>
</section>

{{if .HasThresholds}}
<section id="thresholds">
<h2>Thresholds</h2>
<table>
<tr><th class="l">Threshold</th><th class="l">Measured</th><th>Value</th><th class="l">Verdict</th><th class="l">Detail</th></tr>
{{range .Thresholds}}<tr><td class="l"><code>{{.Expr}}</code></td><td class="l">{{.Metric}}</td><td>{{tvalue .Metric .Value}}</td><td class="l">{{if .Skipped}}<span class="na">skipped</span>{{else if .Passed}}<span class="good">pass</span>{{else}}<span class="bad">FAIL</span>{{end}}</td><td class="l">{{.Message}}</td></tr>
{{end}}</table>
</section>
{{end}}

<section id="requests">
<h2>Request statistics</h2>
<div class="wide"><table>
<tr><th class="l">Type</th><th class="l">Name</th><th># requests</th><th># failures</th><th>fail %</th><th>Avg (ms)</th><th>Min (ms)</th><th>Max (ms)</th><th>Median (ms)</th><th>req/s</th><th>failures/s</th><th>Avg size (bytes)</th></tr>
{{range .Rows}}<tr><td class="l">{{.Method}}</td><td class="l">{{.Name}}</td><td>{{.Requests}}</td><td{{if .HasFailures}} class="bad"{{end}}>{{.Failures}}</td><td>{{.FailPct}}</td><td>{{.Avg}}</td><td>{{.Min}}</td><td>{{.Max}}</td><td>{{.Med}}</td><td>{{.RPS}}</td><td>{{.FailRPS}}</td><td>{{.Size}}</td></tr>
{{end}}{{if .HasTotal}}{{with .Total}}<tr class="total"><td class="l"></td><td class="l">Aggregated</td><td>{{.Requests}}</td><td>{{.Failures}}</td><td>{{.FailPct}}</td><td>{{.Avg}}</td><td>{{.Min}}</td><td>{{.Max}}</td><td>{{.Med}}</td><td>{{.RPS}}</td><td>{{.FailRPS}}</td><td>{{.Size}}</td></tr>{{end}}{{end}}
</table></div>
<h3>Response time percentiles (ms)</h3>
<div class="wide"><table>
<tr><th class="l">Type</th><th class="l">Name</th>{{range .PctHeads}}<th>{{.}}</th>{{end}}<th># requests</th></tr>
{{range .Rows}}<tr><td class="l">{{.Method}}</td><td class="l">{{.Name}}</td>{{range .Pcts}}<td>{{.}}</td>{{end}}<td>{{.Requests}}</td></tr>
{{end}}{{if .HasTotal}}{{with .Total}}<tr class="total"><td class="l"></td><td class="l">Aggregated</td>{{range .Pcts}}<td>{{.}}</td>{{end}}<td>{{.Requests}}</td></tr>{{end}}{{end}}
</table></div>
{{if .Total.Service}}<h3>Service time (open model: send to response, ms)</h3>
<div class="wide"><table>
<tr><th class="l">Type</th><th class="l">Name</th><th>Avg</th><th>Max</th>{{range .PctHeads}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}{{if .Service}}<tr><td class="l">{{.Method}}</td><td class="l">{{.Name}}</td><td>{{.SvcAvg}}</td><td>{{.SvcMax}}</td>{{range .SvcPcts}}<td>{{.}}</td>{{end}}</tr>{{end}}
{{end}}{{with .Total}}<tr class="total"><td class="l"></td><td class="l">Aggregated</td><td>{{.SvcAvg}}</td><td>{{.SvcMax}}</td>{{range .SvcPcts}}<td>{{.}}</td>{{end}}</tr>{{end}}
</table></div>
<p class="muted">The tables above measure open-model requests from each iteration's intended start, so queueing counts (no coordinated omission).</p>{{end}}
</section>

<section id="charts">
<h2>Charts</h2>
{{range .Charts}}{{.}}{{end}}
{{range .EntryCharts}}{{.}}{{end}}
<p class="muted">{{.HistoryNote}}</p>
</section>

<section id="distribution">
<h2>Response time distribution</h2>
{{if .DistNA}}<p class="na">{{.DistNA}}</p>{{else}}{{.Distribution}}
<details><summary>Buckets</summary><table class="kv">{{range .DistRows}}<tr><td>{{.K}}</td><td>{{.V}}</td></tr>{{end}}</table></details>
<p class="muted">All requests; buckets are 10 per decade (each about 26% wider than the last), from a histogram with at most 0.5% relative error.</p>{{end}}
</section>

<section id="ratios">
<h2>Final ratio</h2>
{{with .Ratios}}<div class="cards"><div><h3>Ratio per user class</h3>{{template "ratios" .PerClass}}</div><div><h3>Total ratio</h3>{{template "ratios" .Total}}</div></div>
<p class="muted">Each class's share of the users and each task's share of its class (left) or of all tasks (right), from the script's weights and the run's tags, as the web UI's /tasks gives them.</p>
{{else}}<p class="na">Not available: {{if $.FromCSV}}CSV files do not record the script's classes and tasks.{{else}}this summary holds no task ratios.{{end}}</p>{{end}}
</section>

{{if .Regions}}
<section id="regions">
<h2>Regions</h2>
<div class="wide"><table>
<tr><th class="l">Region</th><th># requests</th><th># failures</th><th>fail %</th><th>Avg (ms)</th><th>Median (ms)</th>{{range .PctHeads}}<th>{{.}}</th>{{end}}<th>req/s</th></tr>
{{range .Regions}}{{$r := .Name}}{{with .Total}}<tr><td class="l">{{$r}}</td><td>{{.Requests}}</td><td>{{.Failures}}</td><td>{{.FailPct}}</td><td>{{.Avg}}</td><td>{{.Med}}</td>{{range .Pcts}}<td>{{.}}</td>{{end}}<td>{{.RPS}}</td></tr>{{end}}
{{end}}</table></div>
{{range .RegionCharts}}{{.}}{{end}}
{{range .Regions}}<h3>{{.Name}}</h3>
<div class="wide"><table>
<tr><th class="l">Type</th><th class="l">Name</th><th># requests</th><th># failures</th><th>Avg (ms)</th><th>Min (ms)</th><th>Max (ms)</th>{{range $.PctHeads}}<th>{{.}}</th>{{end}}<th>req/s</th></tr>
{{range .Rows}}<tr><td class="l">{{.Method}}</td><td class="l">{{.Name}}</td><td>{{.Requests}}</td><td>{{.Failures}}</td><td>{{.Avg}}</td><td>{{.Min}}</td><td>{{.Max}}</td>{{range .Pcts}}<td>{{.}}</td>{{end}}<td>{{.RPS}}</td></tr>
{{end}}{{with .Total}}<tr class="total"><td class="l"></td><td class="l">Aggregated</td><td>{{.Requests}}</td><td>{{.Failures}}</td><td>{{.Avg}}</td><td>{{.Min}}</td><td>{{.Max}}</td>{{range .Pcts}}<td>{{.}}</td>{{end}}<td>{{.RPS}}</td></tr>{{end}}
</table></div>
{{end}}
</section>
{{end}}

{{if or .Workers .Lost .WorkerTotals}}
<section id="workers">
<h2>Workers</h2>
{{if .Workers}}<table>
<tr><th class="l">Worker</th><th class="l">Region</th><th class="l">Host</th><th class="l">State</th><th>Users</th><th>CPU %</th><th>Memory (MiB)</th><th class="l">Last heartbeat</th></tr>
{{range .Workers}}<tr><td class="l">{{.ID}}</td><td class="l">{{.Region}}</td><td class="l">{{.Host}}</td><td class="l">{{.State}}</td><td>{{.Users}}</td><td>{{printf "%.1f" .CPUPercent}}</td><td>{{printf "%.1f" (mib .MemoryBytes)}}</td><td class="l">{{.LastHeartbeat.UTC.Format "15:04:05"}}</td></tr>
{{end}}</table>{{end}}
{{if .WorkerTotals}}<h3>Requests by worker</h3><table>
<tr><th class="l">Worker</th><th># requests</th><th># failures</th><th>Avg (ms)</th><th>Median (ms)</th><th>req/s</th></tr>
{{range .WorkerTotals}}<tr><td class="l">{{.Name}}</td><td>{{.Requests}}</td><td>{{.Failures}}</td><td>{{.Avg}}</td><td>{{.Med}}</td><td>{{.RPS}}</td></tr>
{{end}}</table>{{end}}
{{if .Lost}}<h3 class="bad">Lost workers</h3><table>
<tr><th class="l">Worker</th><th class="l">Region</th><th class="l">Host</th><th>Users</th><th class="l">Lost at</th><th class="l">Reason</th></tr>
{{range .Lost}}<tr><td class="l">{{.ID}}</td><td class="l">{{.Region}}</td><td class="l">{{.Host}}</td><td>{{.Users}}</td><td class="l">{{.LostAt.UTC.Format "15:04:05"}}</td><td class="l">{{.Reason}}</td></tr>
{{end}}</table><p class="muted">Their statistics up to their last report are in the totals.</p>{{end}}
</section>
{{end}}

<section id="failures">
<h2>Failures</h2>
{{if .FailuresNA}}<p class="na">Not available: there was no failures CSV file.</p>
{{else if .Failures}}<div class="wide"><table>
<tr><th class="l">Type</th><th class="l">Name</th><th class="l">Error</th><th>Occurrences</th></tr>
{{range .Failures}}<tr><td class="l">{{.Method}}</td><td class="l">{{.Name}}</td><td class="l">{{.Error}}</td><td>{{.Occurrences}}</td></tr>
{{end}}</table></div>
{{else}}<p>No request failed.</p>{{end}}
</section>

<section id="exceptions">
<h2>Script errors</h2>
{{if .ExceptionsNA}}<p class="na">Not available: there was no exceptions CSV file.</p>
{{else if .Exceptions}}<div class="wide"><table>
<tr><th>Count</th><th class="l">Message</th><th class="l">Traceback</th><th class="l">Nodes</th></tr>
{{range .Exceptions}}<tr><td>{{.Count}}</td><td class="l">{{.Message}}</td><td class="l">{{if .Traceback}}<details><summary>traceback</summary><pre>{{.Traceback}}</pre></details>{{end}}</td><td class="l">{{range $i, $n := .Nodes}}{{if $i}}, {{end}}{{$n}}{{end}}</td></tr>
{{end}}</table></div>
{{else}}<p>No script errors.</p>{{end}}
</section>
</main>
<script type="application/json" id="stampede-data">{{.JSON}}</script>
<script>{{.UPlotJS}}</script>
<script>{{.InitJS}}</script>
</body>
</html>
{{define "ratios"}}<ul class="ratios">{{range $k, $v := .}}<li>{{ratio $v.Ratio}} {{$k}}{{if $v.Tasks}}{{template "ratios" $v.Tasks}}{{end}}</li>{{end}}</ul>{{end}}`
