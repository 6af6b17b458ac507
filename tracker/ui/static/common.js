// Shared helpers of the dashboard's pages. Every name and value from the database is written
// as text (textContent, or escaped for Plotly): never parsed as HTML.

export const POLL_MS = 2000;

export class ApiError extends Error {
  constructor(body, status) {
    super(body.error || `HTTP ${status}`);
    this.body = body;
    this.status = status;
  }
}

export async function api(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, value);
  }
  const text = query.toString();
  const response = await fetch(text ? `${path}?${text}` : path, {credentials: "same-origin"});
  let body;
  try { body = await response.json(); } catch { body = {error: `HTTP ${response.status}`}; }
  if (!response.ok) throw new ApiError(body, response.status);
  return body;
}

// el("td", {class: "num", title: "..."}, "text", otherNode): children strings become text nodes.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// Plotly reads a few HTML-like tags in its text: escape every string handed to it.
export function plotText(value) {
  return String(value ?? "").replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function fmt(value, kind) {
  if (kind === "nan") return "NaN";
  if (kind === "+inf") return "+inf";
  if (kind === "-inf") return "-inf";
  if (value === null || value === undefined) return "—";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    const abs = Math.abs(value);
    return abs !== 0 && (abs < 1e-3 || abs >= 1e5) ? value.toExponential(3) : value.toPrecision(4);
  }
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

export function ago(iso) {
  if (!iso) return "—";
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${Math.round(seconds)} s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "—";
}

export function statusChip(status, count) {
  return el("span", {class: `chip status-${status}`}, count === undefined ? status : `${count} ${status}`);
}

// The page's state lives in its URL (shareable): read it, and write it back without a reload.
export function state() {
  return Object.fromEntries(new URLSearchParams(location.search));
}

export function setState(changes) {
  const params = new URLSearchParams(location.search);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined || value === null || value === "") params.delete(key);
    else params.set(key, value);
  }
  history.replaceState(null, "", `${location.pathname}?${params}`);
}

export function crumbs(...parts) {
  const nav = clear(document.getElementById("crumbs"));
  for (const [text, href] of parts) {
    nav.append(el("span", {class: "sep"}, "/"), href ? el("a", {href}, text) : el("span", {}, text));
  }
}

export function setLive(ok, text) {
  const node = document.getElementById("live");
  if (!node) return;
  node.className = ok ? "live on" : "live off";
  node.textContent = text;
}

export function card(title, id, extra = {}) {
  const body = el("div", {class: "card-body", id});
  const head = el("div", {class: "card-head"}, el("h2", {}, title));
  return {node: el("section", {class: `card ${extra.class || ""}`}, head, body), head, body};
}

export function message(node, text, cls = "note") {
  clear(node).append(el("p", {class: cls}, text));
}

export const PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2",
  "#ff9da6", "#9d755d", "#bab0ac", "#eeca3b"];

// Plotly's layout shared by the charts.
export function layout(extra = {}) {
  return Object.assign({
    margin: {l: 56, r: 16, t: 12, b: 44},
    font: {family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 12, color: "#1f2933"},
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fbfcfd",
    xaxis: {gridcolor: "#e6e9ee", zeroline: false},
    yaxis: {gridcolor: "#e6e9ee", zeroline: false},
    hoverlabel: {namelength: -1},
  }, extra);
}

export const PLOT_CONFIG = {displaylogo: false, responsive: true, displayModeBar: false,
  modeBarButtonsToRemove: ["lasso2d", "select2d", "toImage"]};

export function isNumber(value) {
  return typeof value === "number" && Number.isFinite(value);
}
