// A run's page: details, status and error, heartbeat, hyperparameters, each metric's curve and
// the per-batch points when recorded; refreshed while the run is running.
import {api, el, clear, fmt, ago, when, statusChip, crumbs, setLive, state, card, message,
  plotText, layout, PLOT_CONFIG, PALETTE, POLL_MS} from "./common.js";
import {epochTick} from "./charts.js";

const main = document.getElementById("main");
const id = Number(state().id);

function details(run) {
  const rows = [
    ["run", `#${run.id}`], ["name", run.name ?? "—"], ["experiment", el("a", {href: `/experiment?name=${encodeURIComponent(run.experiment)}`}, run.experiment)],
    ["status", statusChip(run.status)], ["started", when(run.started_at)], ["ended", when(run.ended_at)],
    ["heartbeat", run.heartbeat_at ? `${ago(run.heartbeat_at)} (${when(run.heartbeat_at)})` : "—"],
    ["trial", run.trial_id ? `${run.trial_id}, execution ${run.execution}, attempt ${run.attempt}` : "—"],
    ["worker", run.worker ?? "—"], ["source", run.source ?? "—"], ["score", fmt(run.score)], ["key", run.key],
  ];
  if (!run.history_complete) rows.push(["history", "partial (imported: only some epochs are known)"]);
  return el("dl", {class: "details", id: "details"}, rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function hyperparameters(run) {
  const names = Object.keys(run.hyperparameters).sort();
  if (!names.length) return el("p", {class: "note"}, "No hyperparameters recorded.");
  return el("table", {class: "grid compact", id: "hyperparameters"}, el("tbody", {}, names.map((n) =>
    el("tr", {}, el("th", {}, n), el("td", {class: typeof run.hyperparameters[n] === "number" ? "num" : ""},
      fmt(run.hyperparameters[n], run.hyperparameters[`${n}_kind`]))))));
}

function byMetric(points) {
  const out = new Map();
  for (const p of points) {
    if (!out.has(p.name)) out.set(p.name, []);
    out.get(p.name).push(p);
  }
  return out;
}

function drawMetrics(node, history, batches) {
  clear(node);
  const metrics = byMetric(history);
  if (!metrics.size) { message(node, "No epoch recorded yet."); return; }
  const grid = el("div", {class: "small-multiples"});
  node.append(grid);
  [...metrics.keys()].sort().forEach((name, i) => {
    const plot = el("div", {class: "metric-plot", dataset: {metric: name}});
    grid.append(el("div", {class: "metric"}, el("h3", {}, name), plot));
    const points = metrics.get(name);
    const traces = [{type: "scatter", mode: "lines+markers", name: "epoch", x: points.map((p) => p.epoch),
      y: points.map((p) => p.value), line: {color: PALETTE[i % PALETTE.length], width: 2},
      hovertemplate: `epoch %{x}: %{y}<extra>${plotText(name)}</extra>`}];
    const steps = (batches.get(name) || []);
    if (steps.length) {
      const perEpoch = Math.max(1, ...steps.map((p) => p.step)) / Math.max(1, points.length);
      traces.push({type: "scatter", mode: "lines", name: "batches", x: steps.map((p) => p.step / perEpoch - 1),
        y: steps.map((p) => p.value), line: {color: "#bbb", width: 1}, hovertemplate: "batch %{text}: %{y}<extra></extra>",
        text: steps.map((p) => p.step)});
    }
    Plotly.react(plot, traces, layout({height: 220, showlegend: steps.length > 0, margin: {l: 50, r: 10, t: 6, b: 36},
      xaxis: {title: {text: "epoch"}, gridcolor: "#e6e9ee", dtick: epochTick(traces.slice(0, 1))}}), PLOT_CONFIG);
  });
}

async function render(first) {
  const [run, history, batchPoints] = await Promise.all([api(`/api/runs/${id}`), api(`/api/runs/${id}/history`),
    api(`/api/runs/${id}/batches`).catch(() => [])]);
  if (first) {
    crumbs([run.experiment, `/experiment?name=${encodeURIComponent(run.experiment)}`], [`run #${run.id}`, null]);
    document.title = `run #${run.id} · sweep-tracker`;
    clear(main);
    main.append(el("div", {class: "title-row"}, el("h1", {id: "run-title"}, run.name ?? `run #${run.id}`), statusChip(run.status)));
    const info = card("Details", "run-details");
    const hps = card("Hyperparameters", "run-hps");
    const curves = card("Metrics", "run-metrics", {class: "wide"});
    main.append(el("div", {class: "cards"}, info.node, hps.node, curves.node));
  }
  const detailsNode = clear(document.getElementById("run-details"));
  detailsNode.append(details(run));
  if (run.error) detailsNode.append(el("h3", {}, "error"), el("pre", {class: "error-text", id: "run-error"}, run.error));
  clear(document.getElementById("run-hps")).append(hyperparameters(run));
  drawMetrics(document.getElementById("run-metrics"), history, byMetric(batchPoints));
  document.body.dataset.ready = "1";
  return run;
}

async function loop(first) {
  let run = null;
  try {
    run = await render(first);
    setLive(true, run.status === "running" ? "live" : run.status);
  } catch (error) {
    if (first) { message(main, error.message, "error"); return; }
    setLive(false, `offline: ${error.message}`);
  }
  if (!run || run.status === "running" || run.status === "stale") setTimeout(() => loop(false), POLL_MS);
}

crumbs();
if (!Number.isInteger(id)) message(main, "Which run? Open one from an experiment.", "error");
else loop(true);
