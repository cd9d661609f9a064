// Stampede web UI. Plain JavaScript, no build step: live data arrives over
// Server-Sent Events (/api/events), state changes go out as POSTs.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

  // Row layout of the events' statistics rows (see internal/web/events.go).
  const R = { method: 0, name: 1, reqs: 2, fails: 3, med: 4, avg: 5, min: 6, max: 7, size: 8,
    rps: 9, fps: 10, curRps: 11, curFps: 12, pct: 13 };

  const state = {
    info: null,
    ev: null,
    tab: "stats",
    sort: { key: null, desc: false },
    filter: "",
    hist: newHistory(),
    charts: {},
    regionCharts: {},
    viewRows: null,
    rowH: 0,
  };
  // For the browser tests and for curious people at the console.
  window.stampede = state;

  // Request URLs are built from the page's origin and path, never from
  // the document's URL: opened as http://user:pass@host/, a relative URL
  // keeps the credentials and fetch() refuses it ("Request cannot be
  // constructed from a URL that includes credentials"). The browser
  // still sends the login it has for the origin.
  const base = location.origin + location.pathname.replace(/[^/]*$/, "");
  const api = (path) => base + path;

  // The last log lines of the process and its workers, oldest first, at
  // most MAX_LOGS (the server keeps 1,000 of each).
  const MAX_LOGS = 2000;
  state.logs = [];
  function newHistory() {
    return { t: [], users: [], rps: [], fps: [], p50: [], p95: [], p99: [], regions: {} };
  }

  // ---------------------------------------------------------------- format
  function fmtInt(n) { return Math.round(n).toLocaleString("en-US"); }
  function fmtMs(v) {
    if (v == null) return "–";
    if (v >= 1000) return Math.round(v).toLocaleString("en-US");
    if (v >= 100) return v.toFixed(0);
    if (v >= 10) return v.toFixed(1);
    return v.toFixed(2);
  }
  function fmtRate(v) { return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2); }
  function fmtPct(r) { return (r * 100).toFixed(r > 0 && r < 0.001 ? 3 : r < 0.1 ? 2 : 1) + "%"; }
  function fmtBytes(b) {
    if (!b) return "–";
    const u = ["B", "KB", "MB", "GB"]; let i = 0;
    while (b >= 1024 && i < u.length - 1) { b /= 1024; i++; }
    return b.toFixed(i ? 1 : 0) + " " + u[i];
  }
  function fmtDur(sec) {
    sec = Math.max(0, Math.round(sec));
    const h = Math.floor(sec / 3600), m = Math.floor(sec / 60) % 60, s = sec % 60;
    return (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s";
  }
  function ago(iso) {
    const t = Date.parse(iso);
    if (!t || t < 0) return "–";
    return fmtDur((Date.now() - t) / 1000) + " ago";
  }

  // ----------------------------------------------------------------- theme
  $("theme-btn").addEventListener("click", () => {
    const next = document.documentElement.getAttribute("data-theme") === "dark" ? "light" : "dark";
    document.documentElement.setAttribute("data-theme", next);
    try { localStorage.setItem("stampede-theme", next); } catch (e) { /* private mode */ }
    rebuildCharts();
  });

  // ------------------------------------------------------------------ tabs
  // The WAI-ARIA tabs pattern: one tab in the Tab order (the selected
  // one), arrow keys, Home and End move between tabs and select them.
  const tabButtons = [...document.querySelectorAll('.tabs [role="tab"]')];
  tabButtons.forEach((b, i) => {
    b.addEventListener("click", () => showTab(b.dataset.tab));
    b.addEventListener("keydown", (e) => {
      const n = tabButtons.length;
      const to = { ArrowRight: (i + 1) % n, ArrowLeft: (i + n - 1) % n, Home: 0, End: n - 1 }[e.key];
      if (to === undefined) return;
      e.preventDefault();
      showTab(tabButtons[to].dataset.tab);
      tabButtons[to].focus();
    });
  });
  function showTab(name) {
    state.tab = name;
    tabButtons.forEach((b) => {
      const on = b.dataset.tab === name;
      b.classList.toggle("active", on);
      b.setAttribute("aria-selected", on ? "true" : "false");
      b.tabIndex = on ? 0 : -1;
    });
    document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.id === "tab-" + name));
    if (location.hash !== "#" + name) history.replaceState(null, "", "#" + name);
    // On a narrow screen the tab strip scrolls: keep the selected tab in it.
    // (Sideways only: the page itself stays where it is.)
    const on = tabButtons.find((b) => b.dataset.tab === name);
    if (on) {
      const strip = on.parentElement, r = on.getBoundingClientRect(), sr = strip.getBoundingClientRect();
      if (r.left < sr.left) strip.scrollLeft -= sr.left - r.left;
      else if (r.right > sr.right) strip.scrollLeft += r.right - sr.right;
    }
    render();
  }
  // A link or an edited address to #TAB selects that tab.
  window.addEventListener("hashchange", () => {
    const want = location.hash.slice(1);
    if (want !== state.tab && tabButtons.some((b) => b.dataset.tab === want)) showTab(want);
  });

  // ------------------------------------------------------------ statistics
  // Every column the table can show. By default only the ones a person
  // reads first (def: true), as Locust shows p95 and p99 beside the
  // median; the Columns chooser adds the others, remembered per browser.
  const allColumns = [
    { key: "type", label: "Type", i: R.method, fixed: true },
    { key: "name", label: "Name", i: R.name, cls: "name", fixed: true },
    { key: "reqs", label: "# Requests", i: R.reqs, num: true, f: fmtInt, def: true },
    { key: "fails", label: "# Fails", i: R.fails, num: true, f: fmtInt, fail: true, def: true },
    { key: "med", label: "Median (ms)", i: R.med, num: true, f: fmtMs, def: true },
    { key: "avg", label: "Average (ms)", i: R.avg, num: true, f: fmtMs, def: true },
    { key: "min", label: "Min (ms)", i: R.min, num: true, f: fmtMs },
    { key: "max", label: "Max (ms)", i: R.max, num: true, f: fmtMs, def: true },
    { key: "size", label: "Average size (bytes)", i: R.size, num: true, f: (v) => fmtInt(v) },
    { key: "cur-rps", label: "Current RPS", i: R.curRps, num: true, f: fmtRate, def: true },
    { key: "cur-fps", label: "Current failures/s", i: R.curFps, num: true, f: fmtRate, def: true },
    { key: "rps", label: "Requests/s", i: R.rps, num: true, f: fmtRate },
    { key: "fps", label: "Failures/s", i: R.fps, num: true, f: fmtRate },
  ];
  const COLS_KEY = "stampede-columns";
  let columns = [];

  function shownKeys() {
    try {
      const saved = JSON.parse(localStorage.getItem(COLS_KEY));
      if (Array.isArray(saved)) return new Set(saved);
    } catch (e) { /* private mode or a bad value: the defaults */ }
    return new Set(allColumns.filter((c) => c.def).map((c) => c.key));
  }
  // setupColumns adds the percentile columns (p95 and p99 shown by
  // default, right after the median) and the chooser's boxes.
  function setupColumns() {
    const pcts = (state.info && state.info.percentiles) || [];
    const at = allColumns.findIndex((c) => c.key === "avg");
    const pc = pcts.map((p, k) => ({ key: "p" + p, label: p, i: R.pct + k, num: true, f: fmtMs,
      def: p === "95%" || p === "99%" }));
    allColumns.splice(at, 0, ...pc);
    const list = $("col-list");
    for (const c of allColumns) {
      if (c.fixed) continue;
      const l = document.createElement("label");
      const cb = document.createElement("input");
      cb.type = "checkbox"; cb.value = c.key;
      cb.addEventListener("change", () => {
        const keys = [...list.querySelectorAll("input:checked")].map((x) => x.value);
        try { localStorage.setItem(COLS_KEY, JSON.stringify(keys)); } catch (e) { /* private mode */ }
        applyColumns();
      });
      l.append(cb, document.createTextNode(c.label));
      list.appendChild(l);
    }
    applyColumns();
  }
  function applyColumns() {
    const keys = shownKeys();
    $("col-list").querySelectorAll("input").forEach((cb) => { cb.checked = keys.has(cb.value); });
    columns = allColumns.filter((c) => c.fixed || keys.has(c.key));
    if (state.sort.key && !columns.some((c) => c.key === state.sort.key)) state.sort = { key: null, desc: false };
    resetTable();
    buildStatsHead();
    renderStats(true);
  }

  // The sort controls are buttons in the header cells (reachable with
  // Tab, pressed with Enter or Space); the cells carry aria-sort.
  function buildStatsHead() {
    const tr = $("stats-head");
    tr.textContent = "";
    for (const c of columns) {
      const th = document.createElement("th");
      th.scope = "col";
      th.className = c.num ? "num" : "";
      th.dataset.key = c.key;
      const b = document.createElement("button");
      b.type = "button";
      b.className = "sort";
      b.textContent = c.label;
      b.title = "Sort by " + c.label;
      b.addEventListener("click", () => {
        const s = state.sort;
        if (s.key === c.key) {
          // Numbers sort largest first, text A to Z; a third press unsorts.
          if (s.desc === !!c.num) { s.desc = !s.desc; } else { s.key = null; }
        } else {
          state.sort = { key: c.key, desc: !!c.num };
        }
        updateSortMarks();
        renderStats(true);
      });
      th.appendChild(b);
      tr.appendChild(th);
    }
    updateSortMarks();
  }
  function updateSortMarks() {
    document.querySelectorAll("#stats-head th").forEach((th) => {
      const on = th.dataset.key === state.sort.key;
      th.classList.toggle("sorted", on);
      th.classList.toggle("desc", on && state.sort.desc);
      th.setAttribute("aria-sort", on ? (state.sort.desc ? "descending" : "ascending") : "none");
    });
  }
  // Names sort as a person reads them: name-25 before name-249.
  const natural = new Intl.Collator("en", { numeric: true, sensitivity: "base" }).compare;

  function makeRow(isFoot) {
    const tr = document.createElement("tr");
    const cells = columns.map((c) => {
      const td = document.createElement("td");
      if (c.num) td.className = "num";
      if (c.cls) td.className = c.cls;
      tr.appendChild(td);
      return td;
    });
    return { tr, cells, vals: new Array(columns.length), foot: isFoot };
  }
  function fillRow(r, data) {
    for (let k = 0; k < columns.length; k++) {
      const c = columns[k];
      const v = data[c.i];
      if (r.vals[k] === v) continue;
      r.vals[k] = v;
      const td = r.cells[k];
      td.textContent = c.f ? c.f(v) : (v == null ? "" : v);
      if (c.cls === "name") td.title = v;
      if (c.fail) td.classList.toggle("fail", v > 0);
    }
  }

  // The table body is a fixed pool of row elements filled by position:
  // re-sorting or a new second of data only rewrites the cells that
  // changed. Past VIRTUAL_MIN rows only the rows in view (and a margin)
  // exist, between two spacer rows, so 2,000 request names cost what 60 do.
  const VIRTUAL_MIN = 200, MARGIN = 25;
  let footRow = null;
  const pool = [];
  let attached = 0;
  let topSpacer = null, bottomSpacer = null;
  // resetTable drops the rows built for the previous set of columns.
  function resetTable() {
    for (const r of pool) r.tr.remove();
    pool.length = 0;
    attached = 0;
    if (footRow) { footRow.tr.remove(); footRow = null; }
    if (topSpacer) { topSpacer.remove(); bottomSpacer.remove(); topSpacer = bottomSpacer = null; }
  }
  function spacer() {
    const tr = document.createElement("tr");
    tr.className = "spacer";
    const c = document.createElement("td");
    c.colSpan = columns.length;
    tr.appendChild(c);
    return tr;
  }
  function renderStats(force) {
    const ev = state.ev;
    if (!ev) return;
    let rows = ev.entries;
    const f = state.filter;
    if (f) rows = rows.filter((r) => (r[R.method] + " " + r[R.name]).toLowerCase().includes(f));
    const { key, desc } = state.sort;
    const col = columns.find((c) => c.key === key);
    if (col) {
      const i = col.i, num = col.num;
      rows = rows.slice().sort((a, b) => {
        let d = num ? a[i] - b[i] : natural(String(a[i]), String(b[i]));
        if (d === 0) d = natural(a[R.name], b[R.name]);
        return desc ? -d : d;
      });
    }
    state.viewRows = rows;
    paintStats();
    if (!footRow) { footRow = makeRow(true); $("stats-foot").appendChild(footRow.tr); }
    const tot = ev.total.slice();
    tot[R.method] = ""; tot[R.name] = "Aggregated";
    fillRow(footRow, tot);
    $("rows-info").textContent = ev.entries.length === rows.length
      ? ev.entries.length + " request names"
      : rows.length + " of " + ev.entries.length + " request names";
  }
  function paintStats() {
    const rows = state.viewRows || [];
    const body = $("stats-body");
    const wrap = $("stats-wrap");
    if (!topSpacer) {
      topSpacer = spacer(); bottomSpacer = spacer();
      body.append(topSpacer, bottomSpacer);
    }
    let start = 0, end = rows.length;
    const rh = state.rowH || 31;
    if (rows.length > VIRTUAL_MIN) {
      const headH = $("stats-head").getBoundingClientRect().height || 30;
      start = Math.max(0, Math.floor((wrap.scrollTop - headH) / rh) - MARGIN);
      end = Math.min(rows.length, start + Math.ceil((wrap.clientHeight || 800) / rh) + 2 * MARGIN);
    }
    const n = end - start;
    while (pool.length < n) pool.push(makeRow(false));
    if (attached !== n) {
      const frag = document.createDocumentFragment();
      for (let k = attached; k < n; k++) frag.appendChild(pool[k].tr);
      body.insertBefore(frag, bottomSpacer);
      for (let k = n; k < attached; k++) pool[k].tr.remove();
      attached = n;
    }
    for (let k = 0; k < n; k++) fillRow(pool[k], rows[start + k]);
    topSpacer.firstChild.style.height = start * rh + "px";
    bottomSpacer.firstChild.style.height = (rows.length - end) * rh + "px";
    topSpacer.hidden = start === 0;
    bottomSpacer.hidden = end === rows.length;
    if (!state.rowH && n > 0) {
      const h = pool[0].tr.getBoundingClientRect().height;
      if (h > 0) state.rowH = h;
    }
  }
  let scrollQueued = false;
  function onStatsScroll() {
    if (scrollQueued || !state.viewRows || state.viewRows.length <= VIRTUAL_MIN) return;
    scrollQueued = true;
    requestAnimationFrame(() => { scrollQueued = false; paintStats(); });
  }
  let filterTimer = 0;
  $("filter").addEventListener("input", (e) => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => { state.filter = e.target.value.trim().toLowerCase(); renderStats(true); }, 120);
  });

  // ---------------------------------------------------------------- charts
  function chartSize(el, h) {
    const w = Math.max(260, el.clientWidth || el.parentElement.clientWidth - 24);
    return { width: w, height: h };
  }
  function axis(label) {
    const grid = { stroke: css("--line"), width: 1 };
    return { stroke: css("--muted"), grid, ticks: grid, label, labelSize: label ? 18 : 0, size: 52 };
  }
  // Time labels: uPlot's defaults put "12/1/26 4:47am" under the first
  // tick, wide enough to run into the next hour:minute label at 800 px.
  // A 24-hour clock (as the Logs tab) and the date only where it changes
  // keep every second line short. Columns: tick step, the label, then the
  // second line when the year, month, day, hour, minute changes.
  const timeLabels = [
    [86400, "{MM}-{DD}", "\n{YYYY}", null, null, null, null, null, 1],
    [60, "{HH}:{mm}", "\n{MM}-{DD}", null, "\n{MM}-{DD}", null, null, null, 1],
    [1, ":{ss}", "\n{HH}:{mm}", null, "\n{HH}:{mm}", null, "\n{HH}:{mm}", null, 1],
    [0.001, ":{ss}.{fff}", "\n{HH}:{mm}", null, "\n{HH}:{mm}", null, "\n{HH}:{mm}", null, 1],
  ];
  function timeAxis() { return { ...axis(), values: timeLabels }; }
  function makeChart(el, series, data, height, yLabel) {
    const o = {
      ...chartSize(el, height),
      series: [{}].concat(series.map((s) => ({ label: s.label, stroke: css(s.color), width: 2,
        fill: s.fill ? css(s.color) + "18" : undefined, value: (u, v) => v == null ? "–" : s.f ? s.f(v) : v }))),
      axes: [timeAxis(), axis(yLabel)],
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.08 : 1] } },
      cursor: { drag: { x: true, y: false } },
      legend: { live: true },
    };
    el.textContent = "";
    const u = new uPlot(o, data, el);
    // A chart fills its column at every width: the column's width is
    // known only once laid out (a hidden tab has none, a grid may reflow
    // after the chart is made), so the chart follows its container.
    new ResizeObserver(() => requestAnimationFrame(() => {
      const w = Math.floor(el.clientWidth);
      if (w > 0 && w !== u.width) u.setSize({ width: w, height: u.height });
    })).observe(el);
    return u;
  }
  function mainChartData() {
    const h = state.hist;
    const t = h.t.map((x) => x / 1000);
    return {
      rps: [t, h.rps, h.fps],
      lat: [t, h.p50, h.p95, h.p99],
      users: [t, h.users],
    };
  }
  function ensureMainCharts() {
    if (state.charts.rps) return;
    const d = mainChartData();
    state.charts.rps = makeChart($("chart-rps"), [
      { label: "RPS", color: "--c1", fill: true, f: fmtRate },
      { label: "Failures/s", color: "--c2", f: fmtRate }], d.rps, 240, "per second");
    state.charts.lat = makeChart($("chart-lat"), [
      { label: "p50", color: "--c3", f: fmtMs },
      { label: "p95", color: "--c5", f: fmtMs },
      { label: "p99", color: "--c2", f: fmtMs }], d.lat, 240, "ms");
    state.charts.users = makeChart($("chart-users"), [
      { label: "Users", color: "--c4", fill: true }], d.users, 200, "users");
  }
  function renderCharts() {
    ensureMainCharts();
    const d = mainChartData();
    state.charts.rps.setData(d.rps);
    state.charts.lat.setData(d.lat);
    state.charts.users.setData(d.users);
  }
  function rebuildCharts() {
    for (const k in state.charts) state.charts[k].destroy();
    state.charts = {};
    for (const k in state.regionCharts) { state.regionCharts[k].rps.destroy(); state.regionCharts[k].lat.destroy(); }
    state.regionCharts = {};
    $("region-charts").textContent = "";
    render();
  }
  // --------------------------------------------------------------- history
  function addHistory(points, reset) {
    if (reset) state.hist = newHistory();
    const h = state.hist;
    for (const p of points) {
      const n = h.t.length;
      h.t.push(p[0]); h.users.push(p[1]); h.rps.push(p[2]); h.fps.push(p[3]);
      h.p50.push(p[4] || null); h.p95.push(p[5] || null); h.p99.push(p[6] || null);
      const regions = p[7] || {};
      for (const name in regions) {
        if (!h.regions[name]) {
          h.regions[name] = { rps: new Array(n).fill(null), fps: new Array(n).fill(null),
            p50: new Array(n).fill(null), p95: new Array(n).fill(null), p99: new Array(n).fill(null) };
        }
      }
      for (const name in h.regions) {
        const r = h.regions[name], v = regions[name];
        r.rps.push(v ? v[0] : null); r.fps.push(v ? v[1] : null);
        r.p50.push(v && v[2] ? v[2] : null); r.p95.push(v && v[3] ? v[3] : null); r.p99.push(v && v[4] ? v[4] : null);
      }
    }
  }

  // -------------------------------------------------------------- failures
  function td(text, cls) {
    const c = document.createElement("td");
    c.textContent = text;
    if (cls) c.className = cls;
    return c;
  }
  // The failures sort as the statistics do: a button per header cell,
  // numbers largest first, text A to Z, a third press unsorts.
  const failSort = { key: null, desc: false };
  document.querySelectorAll("#failures-head th").forEach((th) => {
    th.querySelector("button").addEventListener("click", () => {
      const k = Number(th.dataset.key), num = !!th.dataset.num;
      if (failSort.key === k) {
        if (failSort.desc === num) { failSort.desc = !failSort.desc; } else { failSort.key = null; }
      } else {
        failSort.key = k; failSort.desc = num;
      }
      renderFailures();
    });
  });
  function renderFailures() {
    const ev = state.ev;
    if (!ev) return;
    const body = $("failures-body");
    body.textContent = "";
    const frag = document.createDocumentFragment();
    let rows = ev.errors;
    if (failSort.key != null) {
      const k = failSort.key;
      rows = rows.slice().sort((a, b) => {
        const d = k === 3 ? a[k] - b[k] : natural(String(a[k]), String(b[k]));
        return failSort.desc ? -d : d;
      });
    }
    document.querySelectorAll("#failures-head th").forEach((th) => {
      const on = Number(th.dataset.key) === failSort.key;
      th.classList.toggle("sorted", on);
      th.classList.toggle("desc", on && failSort.desc);
      th.setAttribute("aria-sort", on ? (failSort.desc ? "descending" : "ascending") : "none");
    });
    for (const e of rows) {
      const tr = document.createElement("tr");
      tr.append(td(fmtInt(e[3]), "num fail"), td(e[0]), td(e[1], "name"), td(e[2], "wrap"));
      frag.appendChild(tr);
    }
    body.appendChild(frag);
    $("failures-table").hidden = ev.errors.length === 0;
    $("failures-empty").hidden = ev.errors.length > 0;
    $("failures-more").hidden = ev.error_count <= ev.errors.length;
    $("failures-more").textContent = "Showing " + ev.errors.length + " of " + ev.error_count + " kinds of failure; the CSV download has them all.";
  }

  function renderExceptions() {
    const ev = state.ev;
    const list = $("exceptions-list");
    list.textContent = "";
    for (const x of ev.exceptions) {
      const card = document.createElement("div");
      card.className = "card exc";
      const h = document.createElement("h3");
      h.textContent = x.msg;
      const meta = document.createElement("div");
      meta.className = "hint";
      meta.textContent = fmtInt(x.count) + " times" + (x.nodes ? " · on " + x.nodes : "");
      const pre = document.createElement("pre");
      pre.textContent = x.traceback || "(no traceback)";
      card.append(h, meta, pre);
      list.appendChild(card);
    }
    $("exceptions-empty").hidden = ev.exceptions.length > 0;
  }

  function renderWorkers() {
    const ev = state.ev;
    const body = $("workers-body");
    body.textContent = "";
    const reqs = ev.worker_requests || {};
    const frag = document.createDocumentFragment();
    for (const w of ev.workers) {
      const tr = document.createElement("tr");
      // A worker that shut down cleanly (goodbye) is stopped, not a fault.
      const st = td(w.left ? "stopped (shut down)" : w.state);
      if (w.state === "missing") st.className = "fail";
      if (w.left) st.title = "This worker shut down cleanly (SIGTERM or Ctrl-C); it is not counted as lost.";
      tr.append(td(w.id, "name"), td(w.region || "–"), st, td(fmtInt(w.user_count), "num"),
        td(w.cpu_usage != null ? w.cpu_usage.toFixed(0) + "%" : "–", "num"), td(fmtBytes(w.memory_usage), "num"),
        td(reqs[w.id] != null ? fmtInt(reqs[w.id]) : "–", "num"), td(ago(w.last_heartbeat), "num"));
      frag.appendChild(tr);
    }
    body.appendChild(frag);
    $("workers-table").hidden = ev.workers.length === 0;
    $("workers-empty").hidden = ev.workers.length > 0;
    $("workers-empty").textContent = ev.distributed
      ? "No worker has connected yet. Start workers with: stampede worker --master-host THIS_HOST (and --cluster-token, --region)."
      : "This is a local run: no workers. Run stampede master and stampede worker to spread users over machines and regions.";
  }

  function renderRegions() {
    const ev = state.ev;
    const body = $("regions-body");
    body.textContent = "";
    for (const r of ev.regions) {
      const t = r.total;
      const tr = document.createElement("tr");
      const p95 = t[R.pct + 5], p99 = t[R.pct + 7];
      tr.append(td(r.region, "name"), td(fmtInt(r.workers), "num"), td(fmtInt(r.users), "num"),
        td(fmtInt(t[R.reqs]), "num"), td(fmtInt(t[R.fails]), "num" + (t[R.fails] ? " fail" : "")),
        td(fmtPct(t[R.reqs] ? t[R.fails] / t[R.reqs] : 0), "num"), td(fmtRate(t[R.curRps]), "num"),
        td(fmtMs(t[R.med]), "num"), td(fmtMs(t[R.avg]), "num"), td(fmtMs(p95), "num"), td(fmtMs(p99), "num"),
        td(fmtMs(t[R.max]), "num"));
      body.appendChild(tr);
    }
    $("regions-table").hidden = ev.regions.length === 0;
    $("regions-empty").hidden = ev.regions.length > 0;

    const h = state.hist;
    const t = h.t.map((x) => x / 1000);
    const names = Object.keys(h.regions).sort();
    for (const name of names) {
      const r = h.regions[name];
      let rc = state.regionCharts[name];
      if (!rc) {
        const card = document.createElement("div");
        card.className = "card region-card";
        const title = document.createElement("h3");
        title.textContent = name;
        const pair = document.createElement("div");
        pair.className = "pair";
        const a = document.createElement("div"), b = document.createElement("div");
        const ca = document.createElement("div"), cb = document.createElement("div");
        ca.className = cb.className = "cap";
        ca.textContent = "Requests and failures per second";
        cb.textContent = "Response times (ms)";
        const pa = document.createElement("div"), pb = document.createElement("div");
        a.append(ca, pa); b.append(cb, pb);
        pair.append(a, b);
        card.append(title, pair);
        // Keep the cards in region order.
        const after = names.slice(names.indexOf(name) + 1).map((n) => state.regionCharts[n]).find(Boolean);
        $("region-charts").insertBefore(card, after ? after.card : null);
        rc = {
          card,
          rps: makeChart(pa, [{ label: "RPS", color: "--c1", fill: true, f: fmtRate },
            { label: "Failures/s", color: "--c2", f: fmtRate }], [t, r.rps, r.fps], 180, "per second"),
          lat: makeChart(pb, [{ label: "p50", color: "--c3", f: fmtMs },
            { label: "p95", color: "--c5", f: fmtMs }], [t, r.p50, r.p95], 180, "ms"),
        };
        state.regionCharts[name] = rc;
      } else {
        rc.rps.setData([t, r.rps, r.fps]);
        rc.lat.setData([t, r.p50, r.p95]);
      }
    }
  }

  // The Logs tab: the process's recent log lines and its workers' from the
  // event stream, filtered by level and source. A worker's line has its
  // id as source and its region as a sixth element.
  const LEVELS = { DEBUG: 0, INFO: 1, WARN: 2, ERROR: 3 };
  let logsDirty = true;
  for (const id of ["log-level", "log-source"]) $(id).addEventListener("change", () => { logsDirty = true; renderLogs(); });
  const logSource = (l) => l.length > 5 ? l[4] + " @ " + (l[5] || "(no region)") : l[4];
  function renderLogs() {
    if (!logsDirty) return;
    logsDirty = false;
    const min = LEVELS[$("log-level").value] || 0;
    const sel = $("log-source");
    const want = sel.value;
    const sources = new Set(state.logs.map(logSource));
    if (want) sources.add(want);
    if (sel.options.length !== sources.size + 1) { // a new source: rebuild the options, keeping the choice
      sel.length = 1;
      for (const src of [...sources].sort(natural)) sel.add(new Option(src, src, false, src === want));
    }
    const body = $("logs-body");
    body.textContent = "";
    const frag = document.createDocumentFragment();
    let shown = 0;
    for (let k = state.logs.length - 1; k >= 0; k--) { // newest first
      const l = state.logs[k];
      const [t, level, msg, attrs] = l;
      const src = logSource(l);
      if ((LEVELS[level] ?? 1) < min || (want && src !== want)) continue;
      const tr = document.createElement("tr");
      tr.className = "log-" + level.toLowerCase();
      tr.append(td(new Date(t).toLocaleTimeString("en-GB")), td(level, level === "ERROR" ? "fail" : level === "WARN" ? "warn" : ""),
        td(src), td(msg + (attrs ? " " + attrs : ""), "wrap"));
      frag.appendChild(tr);
      shown++;
    }
    body.appendChild(frag);
    $("logs-table").hidden = shown === 0;
    $("logs-empty").hidden = shown > 0;
    $("logs-info").textContent = shown + " of the last " + state.logs.length + " lines";
  }

  // The Current ratio tab reads Locust's /tasks at most every 2 s: the
  // ratio changes only when users or the tag selection do.
  let ratioAt = -Infinity; // the first look fetches at once (performance.now() starts near 0)
  async function renderRatio() {
    if (performance.now() - ratioAt < 2000) return;
    ratioAt = performance.now();
    let r;
    try {
      const res = await fetch(api("tasks"), { credentials: "same-origin" });
      r = await res.json();
    } catch (e) { return; }
    const body = $("ratio-body");
    body.textContent = "";
    const pct = (v) => (v * 100).toFixed(1) + "%";
    const add = (name, depth, own, all, cls) => {
      const tr = document.createElement("tr");
      if (cls) tr.className = cls;
      const n = td(name, "name");
      n.style.paddingLeft = 10 + depth * 20 + "px";
      tr.append(n, td(pct(own), "num"), td(pct(all), "num"));
      body.appendChild(tr);
    };
    const walk = (per, tot, depth) => {
      for (const name of Object.keys(per).sort(natural)) {
        add(name, depth, per[name].ratio, tot[name].ratio, depth ? "" : "class");
        if (per[name].tasks) walk(per[name].tasks, tot[name].tasks, depth + 1);
      }
    };
    walk(r.per_class || {}, r.total || {}, 0);
    $("ratio-empty").hidden = body.children.length > 0;
    $("ratio-table").hidden = body.children.length === 0;
  }

  // ---------------------------------------------------------------- header
  function renderHeader() {
    const ev = state.ev;
    const st = $("state");
    if (st.textContent !== ev.state) {
      st.textContent = ev.state;
      st.className = "state " + ev.state;
      // Only a change of state is announced: the figures change every
      // second and would drown a screen reader.
      $("announce").textContent = "Test " + ev.state;
    }
    const active = ev.state === "running" || ev.state === "spawning";
    // The open model has no user target: the pool grows as the arrival
    // rate needs.
    $("kpi-users").textContent = fmtInt(ev.users) + (active && !ev.arrival && ev.target !== ev.users ? " → " + fmtInt(ev.target) : "");
    $("kpi-arrival-box").hidden = !ev.arrival;
    $("kpi-arrival").textContent = ev.arrival || "";
    // A stopped test has no current rate or percentiles (the server sends
    // zeros too): the last second's figures must not stay on display.
    $("kpi-rps").textContent = fmtRate(active ? ev.rps : 0);
    $("kpi-fail").textContent = fmtPct(ev.fail_ratio);
    $("kpi-fail").classList.toggle("fail", ev.fail_ratio > 0);
    $("kpi-lat").textContent = active && (ev.p50 || ev.p95) ? fmtMs(ev.p50) + " / " + fmtMs(ev.p95) + " ms" : "–";
    $("kpi-workers").textContent = fmtInt(ev.worker_count);
    $("kpi-regions").textContent = fmtInt(ev.regions.length);
    $("kpi-workers-box").hidden = !ev.distributed && ev.workers.length === 0;
    $("kpi-regions-box").hidden = ev.regions.length === 0;
    if (ev.started) {
      $("kpi-time-box").hidden = false;
      if (active && ev.remaining > 0) {
        $("kpi-time-label").textContent = "Remaining";
        $("kpi-time").textContent = fmtDur(ev.remaining);
      } else {
        $("kpi-time-label").textContent = "Elapsed";
        $("kpi-time").textContent = fmtDur(((ev.ended || ev.t) - ev.started) / 1000);
      }
    } else {
      $("kpi-time-box").hidden = true;
    }
    $("target-host").textContent = ev.host || (state.info && state.info.host) || "";
    // An open-model test has no users to edit: its rate is fixed.
    $("edit-btn").hidden = !active || !!ev.arrival;
    $("stop-btn").hidden = !active;
    $("reset-btn").hidden = !(active || ev.state === "stopped");
    $("new-btn").hidden = ev.state !== "stopped";
    $("n-failures").textContent = ev.error_count ? fmtInt(ev.error_count) : "";
    $("n-exceptions").textContent = ev.exception_count ? fmtInt(ev.exception_count) : "";
    $("n-workers").textContent = ev.workers.length ? fmtInt(ev.worker_count) : "";
    $("n-regions").textContent = ev.regions.length ? fmtInt(ev.regions.length) : "";
    $("dl-regions").hidden = ev.regions.length === 0;
    if (ev.state === "ready" && $("start-panel").hidden && !startDismissed) openStart(false);
    if (!active) $("edit-panel").hidden = true;
    document.title = (active ? "▶ " : "") + ((state.info && state.info.title) || "Stampede") +
      (active ? " · " + fmtRate(ev.rps) + " RPS" : "");
  }

  function render() {
    if (!state.ev) return;
    const t0 = performance.now();
    renderHeader();
    switch (state.tab) {
      case "stats": renderStats(false); break;
      case "charts": renderCharts(); break;
      case "failures": renderFailures(); break;
      case "exceptions": renderExceptions(); break;
      case "workers": renderWorkers(); break;
      case "regions": renderRegions(); break;
      case "ratio": renderRatio(); break;
      case "logs": renderLogs(); break;
    }
    // How long the last update took, for the browser tests (2,000 names).
    state.renderMs = performance.now() - t0;
  }

  // ------------------------------------------------------------- the forms
  let startDismissed = false;
  function openStart(cancellable) {
    const i = state.info || {};
    const p = state.ev || {};
    $("users").value = p.target || i.user_count || 1;
    $("spawn-rate").value = p.spawn_rate || i.spawn_rate || 1;
    $("host").value = p.host || i.host || "";
    $("run-time").value = i.run_time || "";
    $("tags").value = (p.tags || i.tags || []).join(",");
    $("exclude-tags").value = (p.exclude_tags || i.exclude_tags || []).join(",");
    $("advanced").open = $("tags").value !== "" || $("exclude-tags").value !== "";
    $("start-cancel").hidden = !cancellable;
    $("start-error").hidden = true;
    $("start-panel").hidden = false;
    $("users").focus();
  }
  $("new-btn").addEventListener("click", () => { startDismissed = false; openStart(true); });
  $("start-cancel").addEventListener("click", () => { startDismissed = true; $("start-panel").hidden = true; });
  $("edit-btn").addEventListener("click", () => {
    const ev = state.ev;
    $("edit-users").value = ev.target;
    $("edit-spawn-rate").value = ev.spawn_rate;
    $("edit-error").hidden = true;
    $("edit-panel").hidden = false;
    $("edit-users").focus();
  });
  $("edit-cancel").addEventListener("click", () => { $("edit-panel").hidden = true; });

  async function post(path, body) {
    const res = await fetch(api(path), { method: "POST", body, credentials: "same-origin",
      headers: body ? { "Content-Type": "application/x-www-form-urlencoded" } : {} });
    let data = {};
    try { data = await res.json(); } catch (e) { data = { error: res.status + " " + res.statusText }; }
    if (!res.ok) {
      const err = new Error(data.error || data.message || res.statusText);
      err.field = data.field;
      throw err;
    }
    return data;
  }
  // fieldLabel is what the form calls a field: its label's (or its
  // fieldset's legend's) own text, without the hint.
  function fieldLabel(input) {
    const holder = input.closest("label") || (input.closest("fieldset") && input.closest("fieldset").querySelector("legend"));
    if (!holder) return "";
    const text = [...holder.childNodes].find((n) => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
    return text ? text.textContent.trim().replace(/\s*\(.*\)$/, "") : "";
  }
  function showFormError(box, form, err) {
    form.querySelectorAll("input").forEach((i) => i.classList.remove("invalid"));
    let msg = err.message;
    if (err.field) {
      // by name, not a selector: a var's key may hold any character
      const input = [...form.elements].find((i) => i.name === err.field);
      if (input) {
        const box = input.closest("details");
        if (box) box.open = true; // an advanced option: show it
        input.classList.add("invalid"); input.focus();
        // The API names its field (spawn_rate: ...); a person reads the
        // form's label (Spawn rate: ...).
        const label = fieldLabel(input);
        if (label) msg = label + ": " + (msg.startsWith(err.field + ": ") ? msg.slice(err.field.length + 2) : msg);
      }
    }
    box.textContent = msg;
    box.hidden = false;
  }

  $("start-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const form = e.target;
    const body = new URLSearchParams();
    body.set("user_count", $("users").value);
    body.set("spawn_rate", $("spawn-rate").value);
    if ($("host").value.trim()) body.set("host", $("host").value.trim());
    body.set("run_time", $("run-time").value.trim());
    document.querySelectorAll("#classes input:checked").forEach((c) => body.append("user_classes", c.value));
    const counts = [...document.querySelectorAll("#classes .class-count")].filter((n) => n.value.trim() !== "");
    if (counts.length) {
      // Exact users per class: the test's user count is their sum.
      let sum = 0;
      for (const n of counts) {
        body.append("class_users", n.dataset.class + "=" + n.value.trim());
        sum += Number(n.value);
      }
      if (Number.isInteger(sum)) { $("users").value = sum; body.set("user_count", String(sum)); }
    }
    body.set("tags", $("tags").value.trim());
    body.set("exclude_tags", $("exclude-tags").value.trim());
    body.set("iterations", $("iterations").value.trim());
    // The workload model: the fields of the chosen one (an empty stages
    // field chooses plain users over the command line's model).
    const model = currentModel();
    if (model === "open") {
      body.delete("user_count");
      body.delete("class_users");
      body.set("arrival_rate", $("arrival-rate").value.trim());
      body.set("arrival_stages", $("arrival-stages").value.trim());
      body.set("max_users", $("max-users").value.trim());
    } else if (model === "stages") {
      body.delete("user_count");
      body.delete("class_users");
      body.set("stages", $("stages").value.trim());
    } else {
      body.set("stages", "");
    }
    // Custom parameters: a secret's box is empty unless retyped, and
    // empty keeps the command line's value.
    document.querySelectorAll("#vars input").forEach((v) => body.set(v.name, v.value));
    $("start-btn").disabled = true;
    try {
      await post("swarm", body);
      $("start-panel").hidden = true;
      startDismissed = true;
      state.hist = newHistory();
      showTab("stats");
    } catch (err) {
      showFormError($("start-error"), form, err);
    } finally {
      $("start-btn").disabled = false;
    }
  });

  $("edit-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = new URLSearchParams();
    body.set("user_count", $("edit-users").value);
    body.set("spawn_rate", $("edit-spawn-rate").value);
    $("edit-submit").disabled = true;
    try {
      await post("swarm", body);
      $("edit-panel").hidden = true;
    } catch (err) {
      showFormError($("edit-error"), e.target, err);
    } finally {
      $("edit-submit").disabled = false;
    }
  });

  $("stop-btn").addEventListener("click", async () => {
    $("stop-btn").disabled = true;
    try { await post("stop"); } catch (err) { alert("Stop failed: " + err.message); }
    finally { $("stop-btn").disabled = false; }
  });
  $("reset-btn").addEventListener("click", async () => {
    try { await post("stats/reset"); } catch (err) { alert("Reset failed: " + err.message); }
  });

  // ---------------------------------------------------------------- stream
  function connect() {
    const es = new EventSource(api("api/events"));
    es.addEventListener("stats", (m) => {
      $("conn").hidden = true;
      state.eventBytes = m.data.length;
      const ev = JSON.parse(m.data);
      addHistory(ev.history, ev.reset);
      if (ev.logs && ev.logs.length) {
        state.logs.push(...ev.logs);
        if (state.logs.length > MAX_LOGS) state.logs.splice(0, state.logs.length - MAX_LOGS);
        logsDirty = true;
      }
      state.ev = ev;
      render();
    });
    es.onerror = () => { $("conn").hidden = false; };
  }

  // ---------------------------------------------------- workload and vars
  function currentModel() {
    const r = document.querySelector('input[name="model"]:checked');
    return r ? r.value : "closed";
  }
  function showModel() {
    const m = currentModel();
    document.querySelectorAll("#start-form [data-model]").forEach((el) => { el.hidden = el.dataset.model !== m; });
  }
  document.querySelectorAll('input[name="model"]').forEach((r) => r.addEventListener("change", showModel));

  // fillStartForm puts the command line's model, iterations and custom
  // parameters in the form once: later tests keep what was typed.
  function fillStartForm(i) {
    $("stages").value = i.stages || "";
    $("arrival-rate").value = i.arrival_rate || "";
    $("arrival-stages").value = i.arrival_stages || "";
    $("max-users").value = i.max_users || "";
    $("iterations").value = i.iterations || "";
    const model = i.arrival_rate || i.arrival_stages ? "open" : i.stages ? "stages" : "closed";
    $("model-" + model).checked = true;
    showModel();
    const vars = i.vars || [];
    $("vars-box").hidden = vars.length === 0;
    for (const v of vars) {
      const l = document.createElement("label");
      l.append(document.createTextNode(v.name));
      const input = document.createElement("input");
      input.name = "var." + v.name;
      input.autocomplete = "off";
      input.spellcheck = false;
      input.disabled = !i.vars_editable;
      if (v.secret) {
        // never shown, never prefilled: empty keeps the command line's
        input.type = "password";
        input.placeholder = "unchanged (secret)";
        input.autocomplete = "new-password";
      } else {
        input.type = "text";
        input.value = v.value;
      }
      l.append(input);
      $("vars").appendChild(l);
    }
  }

  async function init() {
    try {
      const res = await fetch(api("api/info"), { credentials: "same-origin" });
      state.info = await res.json();
    } catch (e) {
      state.info = {};
    }
    const i = state.info;
    $("title").textContent = i.title || "Stampede";
    $("script-name").textContent = i.script ? "Script: " + i.script : "";
    $("version").textContent = i.version ? "· Stampede " + i.version : "";
    $("target-host").textContent = i.host || "";
    $("dl-history").hidden = !i.full_history;
    $("dl-report").hidden = !i.report;
    const taskTags = i.task_tags || [];
    $("task-tags").hidden = taskTags.length === 0;
    $("task-tags").textContent = "Tags in this script: " + taskTags.join(", ");
    fillStartForm(i);
    const classes = i.user_classes || [];
    $("classes-box").hidden = classes.length < 2;
    for (const c of classes) {
      // A class: tick it to run only the ticked ones, or give it an exact
      // user count (class_users); empty counts share the users by weight.
      const box = document.createElement("span");
      box.className = "cls";
      const l = document.createElement("label");
      const cb = document.createElement("input");
      cb.type = "checkbox"; cb.value = c; cb.name = "user_classes";
      l.append(cb, document.createTextNode(c));
      const n = document.createElement("input");
      n.type = "number"; n.min = "0"; n.step = "1"; n.inputMode = "numeric";
      n.name = "class_users"; n.className = "class-count"; n.dataset.class = c;
      n.placeholder = "by weight"; n.setAttribute("aria-label", "Users of " + c);
      box.append(l, n);
      $("classes").appendChild(box);
    }
    setupColumns();
    $("stats-wrap").addEventListener("scroll", onStatsScroll, { passive: true });
    const want = location.hash.slice(1);
    if (document.querySelector('.tabs button[data-tab="' + want + '"]')) showTab(want);
    connect();
  }
  init();
})();
