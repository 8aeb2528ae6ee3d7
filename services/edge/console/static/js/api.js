// The admin API from the browser. The key lives in sessionStorage only (gone when the tab closes) and
// travels as a bearer header: never in a URL, so never in an access log, a Referer or the history.
const KEY = "tokenyard.key";
const ROLE = "tokenyard.role";

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  get role() { return sessionStorage.getItem(ROLE) || ""; },
  get master() { return this.role === "master"; },
  save(key, role) { sessionStorage.setItem(KEY, key); sessionStorage.setItem(ROLE, role); },
  clear() { sessionStorage.removeItem(KEY); sessionStorage.removeItem(ROLE); },
};

export class ApiError extends Error {
  constructor(status, message, code) { super(message); this.status = status; this.code = code; }
}

export async function request(path, { method = "GET", body, key } = {}) {
  const headers = { Authorization: `Bearer ${key || session.key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
                       cache: "no-store", credentials: "omit" });
}

export async function api(path, options = {}) {
  const r = await request(path, options);
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: { message: text } }; }
  if (!r.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(r.status, err.message || r.statusText, err.code);
  }
  return data;
}

// Reads an SSE response body as it arrives (EventSource cannot send an Authorization header).
export async function streamEvents(path, onData, signal) {
  const r = await fetch(path, { headers: { Authorization: `Bearer ${session.key}` }, signal, cache: "no-store" });
  if (!r.ok) throw new ApiError(r.status, (await r.text()) || r.statusText);
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buf.indexOf("\n\n")) >= 0) {
      const event = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      let name = "message", data = "";
      for (const line of event.split("\n")) {
        if (line.startsWith("event: ")) name = line.slice(7);
        else if (line.startsWith("data: ")) data += line.slice(6);
      }
      onData(name, data ? JSON.parse(data) : {});
    }
  }
}

// DOM without innerHTML: every value from the API becomes text, never markup.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function table(columns, rows, { onRow, empty = "Nothing here yet." } = {}) {
  const head = el("tr", {}, columns.map(([title]) => el("th", {}, title)));
  const body = rows.length ? rows.map((row) => el("tr", { class: onRow ? "clickable" : "", onclick: onRow && (() => onRow(row)) },
    columns.map(([, cell]) => el("td", {}, cell(row)))))
    : [el("tr", {}, el("td", { colspan: columns.length, class: "muted" }, empty))];
  return el("table", { class: "grid" }, el("thead", {}, head), el("tbody", {}, body));
}

export function notice(message, kind = "error") { return el("div", { class: `notice ${kind}`, role: "alert" }, message); }

export const fmt = {
  int: (n) => Number(n || 0).toLocaleString("en-US"),
  usd: (s) => (s === null || s === undefined ? "unknown" : `$${s}`),
  ms: (n) => (n === null || n === undefined ? "–" : `${fmt.int(n)} ms`),
  time: (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "–"),
  pct: (x) => `${(100 * (x || 0)).toFixed(1)}%`,
};
