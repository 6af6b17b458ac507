// The experiment page: the runs table (sorted, filtered by an expression, paged, narrowed by
// brushing the parallel coordinates), the charts (charts.js), kept live by polling the
// "changes since" cursor of the API.
import {api, el, clear, fmt, ago, statusChip, crumbs, setLive, state, setState, card, message,
  POLL_MS} from "./common.js";
import {drawParallel, brushedIds, drawScatter, drawBest, drawImportance, drawCurves, drawTrials,
  curveCache} from "./charts.js";

const PAGE = 50;
const main = document.getElementById("main");
const s = state();
const name = s.name || "";
const view = {
  where: s.where || "", sort: s.sort || "", metric: s.metric || "", groupBy: s.group_by || "",
  color: s.color || "", page: 0, rows: new Map(), meta: null, selected: new Set(
    (s.runs || "").split(",").filter(Boolean).map(Number)), cursor: null, brushed: null,
};
window.trackerView = view;  // for the browser tests and the curious

function sortValue(row, key) {
  if (key.startsWith("best.")) return row.best[key.slice(5)];
  if (key.startsWith("last.")) return row.last[key.slice(5)];
  if (key in row && key !== "hyperparameters") return row[key];
  return row.hyperparameters[key];
}

function orderedRows() {
  let rows = [...view.rows.values()];
  if (view.brushed) rows = rows.filter((row) => view.brushed.has(row.id));
  const key = view.sort.replace(/^[-+]/, "");
  if (!key) return rows.sort((a, b) => a.id - b.id);
  const sign = view.sort.startsWith("-") ? -1 : 1;
  return rows.sort((a, b) => {
    const x = sortValue(a, key), y = sortValue(b, key);
    const missingX = x === undefined || x === null, missingY = y === undefined || y === null;
    if (missingX || missingY) return missingX === missingY ? a.id - b.id : (missingX ? 1 : -1);
    if (x < y) return -sign;
    if (x > y) return sign;
    return a.id - b.id;
  });
}

function columns() {
  const meta = view.meta;
  const named = [...view.rows.values()].some((row) => row.name || row.trial_id);
  const cols = named ? [["id", "run"], ["name", "name"], ["status", "status"]] : [["id", "run"], ["status", "status"]];
  for (const hp of meta.varying) cols.push([hp, hp]);
  const metrics = [view.metric, ...meta.metrics.filter((m) => m !== view.metric)];
  for (const m of metrics) {  // the chosen metric's best and last, the others' best
    if (m in meta.directions) cols.push([`best.${m}`, `best ${m}`]);
    if (m === view.metric || !(m in meta.directions)) cols.push([`last.${m}`, `last ${m}`]);
  }
  cols.push(["last_epoch", "last epoch"], ["started_at", "started"]);
  return cols;
}

function cell(row, key) {
  if (key === "id") return el("td", {class: "num"}, el("a", {href: `/run?id=${row.id}`, class: "run-link"}, `#${row.id}`));
  if (key === "name") return el("td", {class: "name"}, row.name ?? (row.trial_id ? `trial ${row.trial_id}/${row.execution}` : ""));
  if (key === "status") return el("td", {}, statusChip(row.status));
  if (key === "started_at") return el("td", {title: row.started_at}, ago(row.started_at));
  if (key.startsWith("best.") || key.startsWith("last.")) {
    const part = key.startsWith("best.") ? row.best : row.last;
    const m = key.slice(5);
    return el("td", {class: "num"}, fmt(part[m], part[`${m}_kind`]));
  }
  const value = key in row ? row[key] : row.hyperparameters[key];
  return el("td", {class: typeof value === "number" ? "num" : ""}, fmt(value));
}

function renderTable() {
  const holder = clear(document.getElementById("runs"));
  const rows = orderedRows();
  const pages = Math.max(1, Math.ceil(rows.length / PAGE));
  view.page = Math.min(view.page, pages - 1);
  const cols = columns();
  const head = el("tr", {}, el("th", {class: "pick"}, ""), cols.map(([key, label]) => {
    const active = view.sort.replace(/^[-+]/, "") === key;
    const arrow = active ? (view.sort.startsWith("-") ? " ▼" : " ▲") : "";
    return el("th", {class: active ? "sorted" : "", dataset: {key}, onclick: () => {
      view.sort = active && !view.sort.startsWith("-") ? `-${key}` : (active ? "" : key);
      setState({sort: view.sort});
      renderTable();
    }}, label + arrow);
  }));
  const body = el("tbody");
  for (const row of rows.slice(view.page * PAGE, (view.page + 1) * PAGE)) {
    const picked = view.selected.has(row.id);
    body.append(el("tr", {class: picked ? "picked" : "", dataset: {run: row.id}, onclick: (event) => {
      if (event.target.closest("a")) return;
      togglePick(row.id);
    }}, el("td", {class: "pick"}, el("span", {class: "dot"}, picked ? "●" : "○")),
    cols.map(([key]) => cell(row, key))));
  }
  const total = view.rows.size;
  const shown = view.brushed ? `${rows.length} of ${total} runs (brushed)` : `${total} runs`;
  const pager = el("div", {class: "pager"},
    el("span", {id: "count"}, shown),
    el("button", {disabled: view.page === 0, onclick: () => { view.page--; renderTable(); }}, "‹ prev"),
    el("span", {}, `page ${view.page + 1} of ${pages}`),
    el("button", {disabled: view.page >= pages - 1, onclick: () => { view.page++; renderTable(); }}, "next ›"));
  holder.append(el("div", {class: "table-wrap"}, el("table", {class: "grid", id: "runs-table"}, el("thead", {}, head), body)), pager);
}

function togglePick(id) {
  if (view.selected.has(id)) view.selected.delete(id); else view.selected.add(id);
  setState({runs: [...view.selected].join(",")});
  renderTable();
  drawCurves(view);
}

function select(label, id, options, value, onchange) {
  const node = el("select", {id, onchange: (event) => onchange(event.target.value)},
    options.map(([v, text]) => el("option", {value: v, selected: v === value}, text)));
  return el("label", {class: "control"}, el("span", {}, label), node);
}

function controls() {
  const meta = view.meta;
  const error = el("div", {id: "filter-error", class: "error", role: "alert"});
  const input = el("input", {id: "filter", type: "text", value: view.where, spellcheck: "false",
    placeholder: "filter, e.g. learning_rate < 1e-2 and best.val_accuracy > 0.8"});
  const form = el("form", {class: "filter", onsubmit: (event) => {
    event.preventDefault();
    view.where = input.value.trim();
    setState({where: view.where});
    reload();
  }}, input, el("button", {type: "submit"}, "Apply"));
  const metrics = meta.metrics.map((m) => [m, m]);
  const hps = meta.varying.length ? meta.varying : meta.hyperparameters;
  const hpOptions = hps.map((h) => [h, h]);
  return el("div", {class: "controls"}, form,
    select("metric", "metric", metrics, view.metric, (v) => { view.metric = v; setState({metric: v}); redraw(); }),
    select("group by", "group-by", hpOptions, view.groupBy, (v) => { view.groupBy = v; setState({group_by: v}); redrawGroup(); }),
    select("colour curves by", "color", hpOptions, view.color, (v) => { view.color = v; setState({color: v}); drawCurves(view); }),
    error);
}

function defaults() {
  const meta = view.meta;
  if (!meta.metrics.includes(view.metric)) view.metric = meta.objective && meta.metrics.includes(meta.objective)
    ? meta.objective : (["val_accuracy", "val_loss", "accuracy", "loss"].find((m) => meta.metrics.includes(m)) || meta.metrics[0] || "");
  const hps = meta.varying.length ? meta.varying : meta.hyperparameters;
  if (!hps.includes(view.groupBy)) view.groupBy = hps[0] || "";
  if (!hps.includes(view.color)) view.color = view.groupBy;
  if (!view.sort && view.metric) view.sort = `${view.meta.directions[view.metric] === "min" ? "" : "-"}best.${view.metric}`;
  if (!view.selected.size) {
    for (const row of orderedRows().slice(0, 5)) view.selected.add(row.id);
  }
}

function layoutPage(summary) {
  clear(main);
  const e = summary.experiment;
  const chips = el("div", {class: "chips", id: "statuses"});
  for (const [status, n] of Object.entries(summary.statuses)) chips.append(statusChip(status, n));
  main.append(el("div", {class: "title-row"},
    el("h1", {}, e.name),
    el("span", {class: "objective"}, e.objective ? `objective ${e.objective} (${e.direction || "?"})` : "no objective"),
    chips));
  main.append(controls());
  const grid = el("div", {class: "cards"});
  const runs = card("Runs", "runs", {class: "wide"});
  const parallel = card("Parallel coordinates (drag along an axis to narrow the table)", "parallel", {class: "wide"});
  parallel.head.append(el("span", {class: "note", id: "parallel-note"}));
  const curves = card("Learning curves of the selected runs (click rows to choose)", "curves");
  const scatter = card("Metric against a hyperparameter", "scatter");
  const best = card("Best per group", "best");
  const importance = card("Which hyperparameters matter", "importance");
  const trials = card("keras-tuner trials: mean ± std over executions", "trials", {class: "wide"});
  grid.append(runs.node, parallel.node, curves.node, scatter.node, best.node, importance.node, trials.node);
  main.append(grid);
}

// The API's columns back into the rows the changes endpoint sends (same shape, same values).
function rowsOf(columns) {
  const {fields, hyperparameters, best, last, last_kinds: kinds} = columns;
  return fields.id.map((_, i) => {
    const row = {};
    for (const [key, values] of Object.entries(fields)) row[key] = values[i];
    row.hyperparameters = {};
    for (const [key, values] of Object.entries(hyperparameters)) if (values[i] !== null) row.hyperparameters[key] = values[i];
    row.best = {};
    for (const [key, values] of Object.entries(best)) if (values[i] !== null) row.best[key] = values[i];
    row.last = {};
    for (const [key, values] of Object.entries(last)) {
      const kind = kinds[key] ? kinds[key][i] : null;
      if (values[i] !== null || kind) row.last[key] = values[i];
      if (kind) row.last[`${key}_kind`] = kind;
    }
    return row;
  });
}

async function load() {
  const page = await api(`/api/experiments/${encodeURIComponent(name)}/runs`, {where: view.where, format: "columns"});
  view.rows = new Map(rowsOf(page.columns).map((row) => [row.id, row]));
  view.meta = {...page, objective: view.summary.experiment.objective};
  delete view.meta.columns;
}

function showFilterError(error) {
  const node = document.getElementById("filter-error");
  if (!node) return;
  clear(node);
  if (!error) return;
  node.append(el("span", {}, error.message));
  if (error.body && error.body.known && error.body.known.length) {
    node.append(el("span", {class: "known"}, ` Known: ${error.body.known.join(", ")}`));
  }
}

function redrawGroup() {
  drawScatter(view);
  drawBest(view, name);
}

// The table first; each chart then in a task of its own, so that the page answers clicks
// between them. body[data-charts] says when the last one is drawn.
function redraw() {
  renderTable();
  performance.mark("table");
  delete document.body.dataset.charts;
  const steps = [
    () => drawParallel(view, () => { view.page = 0; renderTable(); }),
    () => drawCurves(view),
    () => drawScatter(view),
    () => Promise.all([drawBest(view, name), drawImportance(view, name), drawTrials(view, name)]),
  ];
  const next = async () => {
    const step = steps.shift();
    if (!step) { performance.mark("charts"); document.body.dataset.charts = "1"; return; }
    try { await step(); } finally { setTimeout(next, 0); }
  };
  setTimeout(next, 0);
}

async function reload() {
  try {
    await load();
    showFilterError(null);
  } catch (error) {
    if (error.status === 400 || error.status === 404) { showFilterError(error); return; }
    throw error;
  }
  view.brushed = null;
  view.page = 0;
  view.cursor = null;
  redraw();
  await poll(false);
}

async function poll(repeat = true) {
  try {
    const changes = await api(`/api/experiments/${encodeURIComponent(name)}/changes`,
      {since: view.cursor, where: view.where});
    const reread = changes.full && view.cursor !== null;  // too much changed: read it all
    view.cursor = changes.cursor;
    if (reread) {
      await load();
      redraw();
    }
    let changed = false;
    for (const row of changes.runs) {
      const old = view.rows.get(row.id);
      if (!old || JSON.stringify(old) !== JSON.stringify(row)) {
        view.rows.set(row.id, row);
        for (const key of [...curveCache.keys()]) if (key.startsWith(`${row.id}:`)) curveCache.delete(key);
        changed = true;
      }
    }
    if (changed) {
      view.meta.total = view.rows.size;
      view.brushed = brushedIds(view);
      renderTable();
      drawParallel(view, () => { view.page = 0; renderTable(); });
      drawCurves(view);
      drawScatter(view);
    }
    setLive(true, `live · ${view.rows.size} runs`);
  } catch (error) {
    setLive(false, `offline: ${error.message}`);
  }
  if (repeat) setTimeout(poll, POLL_MS);
}

async function start() {
  crumbs([name, null]);
  if (!name) { message(main, "Which experiment? Open one from the experiments page.", "error"); return; }
  try {
    view.summary = await api(`/api/experiments/${encodeURIComponent(name)}/summary`);
  } catch (error) {
    message(main, error.message, "error");
    return;
  }
  document.title = `${name} · sweep-tracker`;
  let failed = null;
  performance.mark("summary");
  try { await load(); } catch (error) {
    if (error.status !== 400 && error.status !== 404) throw error;
    failed = error;
    view.where = "";
    await load();
  }
  performance.mark("loaded");
  defaults();
  setState({metric: view.metric, group_by: view.groupBy, color: view.color, sort: view.sort});
  layoutPage(view.summary);
  showFilterError(failed);
  redraw();
  document.body.dataset.ready = "1";  // the table is drawn and answers; the charts follow
  await poll(false);
  setTimeout(poll, POLL_MS);
}

start().catch((error) => message(main, error.message, "error"));
