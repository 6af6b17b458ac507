// The experiment page's charts, drawn with Plotly from the API's answers. Strings are
// escaped for Plotly (plotText); messages and tables are text nodes.
import {api, el, clear, fmt, plotText, layout, PLOT_CONFIG, PALETTE, message, isNumber} from "./common.js";

const MIN_RUNS = 5;  // as tracker.analysis.importance.MIN_RUNS
export const curveCache = new Map();   // run id -> its history of the page's metric

function hpValue(row, name) {
  return row.hyperparameters[name];
}

function isNumeric(rows, name) {
  return rows.every((row) => { const v = hpValue(row, name); return v === undefined || v === null || isNumber(v); });
}

// A hyperparameter as an axis: numbers as they are (log10 when they span decades), text and
// booleans as categories.
function axis(rows, name) {
  const values = rows.map((row) => hpValue(row, name));
  if (isNumeric(rows, name)) {
    const present = values.filter(isNumber);
    const positive = present.length && present.every((v) => v > 0);
    const span = positive ? Math.log10(Math.max(...present) / Math.min(...present)) : 0;
    if (positive && span >= 2) {
      const lo = Math.floor(Math.log10(Math.min(...present))), hi = Math.ceil(Math.log10(Math.max(...present)));
      const ticks = [];
      for (let p = lo; p <= hi; p++) ticks.push(p);
      return {label: `${name} (log)`, values: values.map((v) => (isNumber(v) ? Math.log10(v) : null)),
        tickvals: ticks, ticktext: ticks.map((p) => `1e${p}`)};
    }
    return {label: name, values: values.map((v) => (isNumber(v) ? v : null))};
  }
  const cats = [...new Set(values.map((v) => fmt(v)))].sort();
  return {label: name, values: values.map((v) => cats.indexOf(fmt(v))), tickvals: cats.map((_, i) => i),
    ticktext: cats.map(plotText), categories: cats};
}

function metricValues(rows, view) {
  const best = view.meta.directions[view.metric] !== undefined;
  return rows.map((row) => (best ? row.best : row.last)[view.metric] ?? null);
}

// Past these, the charts draw a sample (every k-th run, and the selected ones): software WebGL
// draws 10,000 lines in seconds. Brushing still selects among every run.
const MAX_LINES = 1500;
const MAX_POINTS = 3000;
let parallelAll = {rows: [], values: []};

function sample(rows, most, keep = new Set()) {
  if (rows.length <= most) return rows.map((_, i) => i);
  const step = rows.length / most;
  const picked = new Set();
  for (let k = 0; k < most; k++) picked.add(Math.floor(k * step));
  rows.forEach((row, i) => { if (keep.has(row.id)) picked.add(i); });
  return [...picked].sort((a, b) => a - b);
}

export function drawParallel(view, onBrush) {
  const node = document.getElementById("parallel");
  if (!node) return;
  const rows = [...view.rows.values()].sort((a, b) => a.id - b.id);
  const hps = view.meta.varying;
  if (!rows.length || !hps.length) {
    message(node, rows.length ? "No hyperparameter varies across these runs." : "No run passes the filter.");
    parallelAll = {rows: [], values: []};
    return;
  }
  const old = node.data && node.data[0] ? node.data[0].dimensions : [];
  const ranges = Object.fromEntries(old.map((d) => [d.label, d.constraintrange]));
  const dims = hps.map((name) => axis(rows, name));
  const values = metricValues(rows, view);
  const label = `${view.meta.directions[view.metric] ? "best" : "last"} ${view.metric}`;
  dims.push({label, values});
  const finite = values.filter(isNumber);
  const lowest = finite.length ? finite.reduce((a, b) => Math.min(a, b)) : 0;
  parallelAll = {rows, values: dims.map((d) => d.values.map((v) => (v === null ? NaN : v)))};
  const shown = sample(rows, MAX_LINES, view.selected);
  const note = document.getElementById("parallel-note");
  if (note) note.textContent = shown.length < rows.length ? `${shown.length.toLocaleString()} of ${rows.length.toLocaleString()} runs drawn; brushing selects among all` : "";
  const trace = {
    type: "parcoords",
    line: {color: shown.map((i) => (isNumber(values[i]) ? values[i] : lowest)),
      colorscale: "Viridis", reversescale: view.meta.directions[view.metric] === "min", showscale: true,
      colorbar: {thickness: 12, title: {text: plotText(view.metric), side: "right"}}},
    dimensions: dims.map((d, j) => ({label: plotText(d.label), values: shown.map((i) => parallelAll.values[j][i]),
      tickvals: d.tickvals, ticktext: d.ticktext, constraintrange: ranges[plotText(d.label)]})),
    labelangle: 0, labelfont: {size: 12}, tickfont: {size: 11},
  };
  if (!node.dataset.plotted) clear(node);
  Plotly.react(node, [trace], layout({margin: {l: 60, r: 60, t: 40, b: 20}, height: 340}), PLOT_CONFIG);
  if (!node.dataset.plotted) {
    node.dataset.plotted = "1";
    node.on("plotly_restyle", () => { view.brushed = brushedIds(view); onBrush(); });
  }
}

// The ids of the runs inside every brushed range of the parallel coordinates (null: no brush).
export function brushedIds(view) {
  const node = document.getElementById("parallel");
  if (!node || !node.data || !node.data[0] || node.data[0].type !== "parcoords") return null;
  const dims = node.data[0].dimensions;
  const active = dims.map((d, i) => [d, i]).filter(([d]) => d.constraintrange && d.constraintrange.length);
  if (!active.length || !parallelAll.rows.length) return null;
  const inside = (value, range) => {
    const ranges = Array.isArray(range[0]) ? range : [range];
    return ranges.some(([lo, hi]) => value >= lo && value <= hi);
  };
  const ids = new Set();
  parallelAll.rows.forEach((row, index) => {
    if (active.every(([d, j]) => inside(parallelAll.values[j][index], d.constraintrange))) ids.add(row.id);
  });
  return ids;
}

export function drawScatter(view) {
  const node = document.getElementById("scatter");
  if (!node) return;
  const every = [...view.rows.values()];
  if (!view.groupBy || !every.length) { message(node, "Nothing to draw yet."); return; }
  const rows = sample(every, MAX_POINTS).map((i) => every[i]);
  const x = axis(rows, view.groupBy);
  const y = metricValues(rows, view);
  const keep = rows.map((_, i) => x.values[i] !== null && isNumber(y[i]));
  const jitter = x.categories ? () => (Math.random() - 0.5) * 0.25 : () => 0;
  clear(node);
  Plotly.react(node, [{
    type: "scatter", mode: "markers",
    x: x.values.filter((_, i) => keep[i]).map((v) => v + jitter()),
    y: y.filter((_, i) => keep[i]),
    text: rows.filter((_, i) => keep[i]).map((row) => plotText(`#${row.id} ${row.name ?? ""}`)),
    hovertemplate: "%{text}<br>%{y}<extra></extra>",
    marker: {size: 8, color: "#4c78a8", opacity: 0.75, line: {width: 0.5, color: "#fff"}},
  }], layout({height: 300, xaxis: {title: {text: plotText(x.label)}, tickvals: x.tickvals, ticktext: x.ticktext, gridcolor: "#e6e9ee"},
    yaxis: {title: {text: plotText(`${view.meta.directions[view.metric] ? "best" : "last"} ${view.metric}`)}, gridcolor: "#e6e9ee"}}), PLOT_CONFIG);
}

export async function drawBest(view, name) {
  const node = document.getElementById("best");
  if (!node) return;
  if (!view.groupBy) { message(node, "No hyperparameter to group by."); return; }
  let groups;
  try {
    groups = await api(`/api/experiments/${encodeURIComponent(name)}/best`,
      {group_by: view.groupBy, metric: view.metric, where: view.where});
  } catch (error) { message(node, error.message, "error"); return; }
  clear(node);
  const plot = el("div", {class: "plot-small"});
  const table = el("table", {class: "grid compact", id: "best-table"},
    el("thead", {}, el("tr", {}, [view.groupBy, `best ${view.metric}`, "run", "epoch", "runs"].map((h) => el("th", {}, h)))),
    el("tbody", {}, groups.map((g) => el("tr", {},
      el("td", {}, fmt(g.group)), el("td", {class: "num"}, fmt(g.value)),
      el("td", {class: "num"}, g.run_id ? el("a", {href: `/run?id=${g.run_id}`}, `#${g.run_id}`) : "—"),
      el("td", {class: "num"}, fmt(g.epoch)), el("td", {class: "num"}, fmt(g.runs))))));
  node.append(plot, table);
  Plotly.react(plot, [{type: "scatter", mode: "markers+lines", x: groups.map((g) => plotText(fmt(g.group))), y: groups.map((g) => g.value),
    marker: {color: "#54a24b", size: 11}, line: {color: "#b7dfb9", width: 1}, hovertemplate: "%{x}: %{y}<extra></extra>"}],
  layout({height: 200, xaxis: {type: "category", title: {text: plotText(view.groupBy)}}, yaxis: {title: {text: plotText(`best ${view.metric}`)}, gridcolor: "#e6e9ee"}}), PLOT_CONFIG);
}

export async function drawImportance(view, name) {
  const node = document.getElementById("importance");
  if (!node) return;
  const values = metricValues([...view.rows.values()].filter((row) => row.status === "completed"), view);
  const usable = values.filter(isNumber).length;
  if (usable < MIN_RUNS) {  // the API would say so (400): no need to ask
    message(node, `Importance needs at least ${MIN_RUNS} completed runs with a finite ${view.metric}; ${usable} here so far.`);
    return;
  }
  let rows;
  try {
    rows = await api(`/api/experiments/${encodeURIComponent(name)}/importance`, {metric: view.metric, where: view.where});
  } catch (error) { message(node, error.message, "note"); return; }
  clear(node);
  const ordered = [...rows].reverse();
  Plotly.react(node, [{type: "bar", orientation: "h", y: ordered.map((r) => plotText(r.name)), x: ordered.map((r) => r.importance),
    text: ordered.map((r) => (r.correlation === null ? "" : `ρ ${r.correlation >= 0 ? "+" : ""}${r.correlation.toFixed(2)}`)),
    textposition: "auto", marker: {color: "#f58518"}, hovertemplate: "%{y}: %{x:.3f}<extra></extra>"}],
  layout({height: Math.max(180, 40 + 32 * rows.length), margin: {l: 110, r: 16, t: 8, b: 40},
    xaxis: {title: {text: `share of the variance of ${plotText(view.metric)} (fANOVA)`}, range: [0, 1], gridcolor: "#e6e9ee"}}), PLOT_CONFIG);
}

function colourer(rows, name) {
  const values = rows.map((row) => hpValue(row, name));
  if (isNumeric(rows, name) && new Set(values.map(String)).size > PALETTE.length) {
    const nums = values.filter(isNumber);
    const lo = Math.min(...nums), hi = Math.max(...nums);
    const log = lo > 0 && hi / lo >= 100;
    const t = (v) => (hi === lo ? 0.5 : (log ? Math.log(v / lo) / Math.log(hi / lo) : (v - lo) / (hi - lo)));
    return (v) => (isNumber(v) ? `hsl(${Math.round(240 - 220 * t(v))}, 65%, 45%)` : "#999");
  }
  const cats = [...new Set(values.map((v) => fmt(v)))].sort((a, b) => (isNaN(a) || isNaN(b) ? (a < b ? -1 : 1) : a - b));
  return (v) => PALETTE[cats.indexOf(fmt(v)) % PALETTE.length];
}

// Whole epochs on the axis when there are few of them (Plotly would mark 0.2, 0.4, ...).
export function epochTick(traces) {
  const last = Math.max(0, ...traces.flatMap((t) => t.x));
  return last <= 10 ? 1 : undefined;
}

export async function drawCurves(view) {
  const node = document.getElementById("curves");
  if (!node) return;
  const ids = [...view.selected].filter((id) => view.rows.has(id));
  if (!ids.length) { message(node, "Click runs in the table to draw their learning curves."); return; }
  await Promise.all(ids.filter((id) => !curveCache.has(`${id}:${view.metric}`)).map(async (id) => {
    const points = await api(`/api/runs/${id}/history`, {metric: view.metric}).catch(() => []);
    curveCache.set(`${id}:${view.metric}`, points);
  }));
  const rows = ids.map((id) => view.rows.get(id));
  const colour = colourer([...view.rows.values()], view.color);
  const traces = rows.map((row) => {
    const points = curveCache.get(`${row.id}:${view.metric}`) || [];
    const value = hpValue(row, view.color);
    return {type: "scatter", mode: "lines+markers", name: plotText(`#${row.id} ${view.color}=${fmt(value)}`),
      x: points.map((p) => p.epoch), y: points.map((p) => p.value), line: {color: colour(value), width: 2},
      marker: {size: 5}, customdata: points.map(() => row.id), meta: row.id,
      hovertemplate: `${plotText(`#${row.id} ${row.name ?? ""}`)}<br>epoch %{x}: %{y}<extra></extra>`};
  });
  if (!node.dataset.plotted) clear(node);
  node.dataset.plotted = "1";
  Plotly.react(node, traces, layout({height: 300, showlegend: true, legend: {font: {size: 11}},
    xaxis: {title: {text: "epoch"}, gridcolor: "#e6e9ee", dtick: epochTick(traces)}, yaxis: {title: {text: plotText(view.metric)}, gridcolor: "#e6e9ee"}}), PLOT_CONFIG);
}

export async function drawTrials(view, name) {
  const node = document.getElementById("trials");
  if (!node) return;
  let trials;
  try {
    trials = await api(`/api/experiments/${encodeURIComponent(name)}/trials`, {metric: view.metric, where: view.where});
  } catch (error) { message(node, error.message, "note"); return; }
  const card = node.closest(".card");
  if (!trials.length) { card.hidden = true; return; }
  card.hidden = false;
  clear(node);
  const plot = el("div", {class: "plot-small"});
  const hps = [...new Set(trials.flatMap((t) => Object.keys(t.hyperparameters)))].sort();
  const table = el("table", {class: "grid compact", id: "trials-table"},
    el("thead", {}, el("tr", {}, ["trial", "status", "executions", `mean ${view.metric}`, "std", "score", ...hps].map((h) => el("th", {}, h)))),
    el("tbody", {}, trials.map((t) => el("tr", {},
      el("td", {}, t.trial_id), el("td", {}, t.status), el("td", {class: "num"}, fmt(t.executions)),
      el("td", {class: "num"}, fmt(t.mean)), el("td", {class: "num"}, fmt(t.std)), el("td", {class: "num"}, fmt(t.score)),
      hps.map((h) => el("td", {}, fmt(t.hyperparameters[h])))))));
  node.append(plot, el("div", {class: "table-wrap"}, table));
  Plotly.react(plot, [{type: "scatter", mode: "markers", x: trials.map((t) => plotText(t.trial_id)), y: trials.map((t) => t.mean),
    error_y: {type: "data", array: trials.map((t) => t.std ?? 0), visible: true, color: "#4c78a8"},
    marker: {size: 9, color: "#4c78a8"}, hovertemplate: "trial %{x}: %{y}<extra></extra>"}],
  layout({height: 220, xaxis: {type: "category", title: {text: "trial"}}, yaxis: {title: {text: plotText(`mean ${view.metric}`)}, gridcolor: "#e6e9ee"}}), PLOT_CONFIG);
}
