// The experiments page: each sweep with its objective, runs by status, best value, last activity.
import {api, el, clear, fmt, ago, statusChip, crumbs, setLive, message, POLL_MS} from "./common.js";

const main = document.getElementById("main");
const STATUSES = ["running", "completed", "pruned", "failed", "stale", "invalid"];

async function render() {
  const experiments = await api("/api/experiments");
  const summaries = await Promise.all(experiments.map(
    (e) => api(`/api/experiments/${encodeURIComponent(e.name)}/summary`).catch(() => null)));
  clear(main);
  main.append(el("h1", {}, "Experiments"));
  if (!experiments.length) {
    message(main, "No experiment recorded yet: run a sweep with the callback or track(tuner), and it appears here.");
    return;
  }
  const head = el("tr", {}, ["experiment", "objective", "runs", "status", "best", "last activity"]
    .map((h) => el("th", {}, h)));
  const body = el("tbody");
  experiments.forEach((e, i) => {
    const s = summaries[i];
    const chips = el("div", {class: "chips"});
    if (s) for (const status of STATUSES) if (s.statuses[status]) chips.append(statusChip(status, s.statuses[status]));
    const objective = e.objective ? `${e.objective} (${e.direction || "?"})` : (s && s.metric ? s.metric : "—");
    const best = s && s.best ? el("a", {href: `/run?id=${s.best.run_id}`}, fmt(s.best.value)) : "—";
    body.append(el("tr", {class: "experiment-row"},
      el("td", {}, el("a", {class: "experiment-link", href: `/experiment?name=${encodeURIComponent(e.name)}`}, e.name)),
      el("td", {}, objective),
      el("td", {class: "num"}, fmt(e.runs)),
      el("td", {}, chips),
      el("td", {class: "num"}, best),
      el("td", {title: s && s.last_activity ? new Date(s.last_activity).toLocaleString() : ""},
        s ? ago(s.last_activity) : "—")));
  });
  main.append(el("div", {class: "card"}, el("table", {class: "grid", id: "experiments"}, el("thead", {}, head), body)));
}

async function loop() {
  try {
    await render();
    setLive(true, "live");
  } catch (error) {
    setLive(false, "offline");
    message(main, error.message, "error");
  }
  setTimeout(loop, POLL_MS * 2.5);
}

crumbs();
loop();
