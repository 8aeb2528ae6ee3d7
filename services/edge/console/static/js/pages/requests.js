// Requests: the explorer (filters, newest first, more on demand, csv/jsonl export) and one request's
// attempt timeline (which deployment, why it failed over, which hedge won), cost and trace link.
import { api, el, fmt, notice, request, table } from "../api.js";

const FILTERS = [["key_id", "Key"], ["workspace", "Workspace"], ["agent_id", "Agent"], ["model", "Model"],
                 ["deployment", "Deployment"], ["min_cost_usd", "Min cost (USD)"], ["since", "Since (ISO or ms)"],
                 ["until", "Until"]];
let filters = {};

function query(extra = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...filters, ...extra })) if (v) q.set(k, v);
  return q.toString();
}

function statusBadge(r) { return el("span", { class: `badge ${r.status}` }, r.status); }

function routeCell(r) {
  const kinds = new Set(r.attempts.map((a) => a.kind));
  return el("span", {}, `${r.attempts.length} attempt${r.attempts.length === 1 ? "" : "s"} `,
    ["fallback", "retry", "hedge"].filter((k) => kinds.has(k)).map((k) => el("span", { class: `badge ${k}` }, k)));
}

const COLUMNS = [
  ["Time", (r) => fmt.time(r.started_at)],
  ["Request", (r) => el("span", { class: "mono" }, r.request_id)],
  ["Model", (r) => (r.model_requested && r.model_requested !== r.model ? `${r.model_requested} → ${r.model}` : r.model)],
  ["Deployment", (r) => r.deployment || "–"],
  ["Status", statusBadge],
  ["Routing", routeCell],
  ["Tokens", (r) => `${fmt.int(r.prompt_tokens)} / ${fmt.int(r.completion_tokens)}${r.estimated ? " (est.)" : ""}`],
  ["Cost", (r) => fmt.usd(r.cost_usd)],
  ["Latency", (r) => fmt.ms(r.latency_ms)],
  ["Key", (r) => r.key_id],
];

async function download(format) {
  const r = await request(`/api/v1/requests?${query({ format })}`);
  if (!r.ok) throw new Error(`export failed (${r.status})`);
  const url = URL.createObjectURL(await r.blob());
  const a = el("a", { href: url, download: `requests.${format}` });
  document.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export async function render(view, ctx) {
  if (ctx.params[0]) return detail(view, ctx.params[0]);
  const form = el("form", { class: "filters card", id: "request-filters" },
    FILTERS.map(([name, label]) => el("label", {}, label, el("input", { name, value: filters[name] || "", size: 14 }))),
    el("label", {}, "Status", el("select", { name: "status" }, ["", "ok", "error", "cancelled", "interrupted"].map((s) =>
      el("option", { value: s, selected: filters.status === s }, s || "any")))),
    el("label", {}, "Fallback", el("select", { name: "has_fallback" }, [["", "any"], ["true", "with fallback"], ["false", "without"]].map(([v, t]) =>
      el("option", { value: v, selected: filters.has_fallback === v }, t)))),
    el("button", { type: "submit" }, "Filter"),
    el("button", { type: "button", class: "secondary", onclick: () => download("csv") }, "Export CSV"),
    el("button", { type: "button", class: "secondary", onclick: () => download("jsonl") }, "Export JSONL"));
  const list = el("div", { id: "request-list" });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    filters = Object.fromEntries(new FormData(form).entries());
    load(list, null, true);
  });
  view.replaceChildren(el("h1", {}, "Requests"), form, list);
  await load(list, null, true);
}

async function load(list, cursor, fresh) {
  let page;
  try {
    page = await api(`/api/v1/requests?${query({ limit: 50, cursor })}`);
  } catch (e) {
    list.replaceChildren(notice(`Could not list requests: ${e.message}`));
    return;
  }
  const rows = table(COLUMNS, page.data, { onRow: (r) => { location.hash = `#/requests/${encodeURIComponent(r.request_id)}`; },
                                            empty: "No request matches." });
  if (fresh) {
    list.replaceChildren(rows);
  } else {
    list.querySelector("button.more")?.remove();
    list.append(rows);
  }
  if (page.next_cursor) list.append(el("button", { class: "secondary more", onclick: () => load(list, page.next_cursor, false) }, "Load more"));
}

function timeline(r) {
  const winner = r.attempts.findIndex((a) => a.outcome === "ok");
  return el("div", { class: "timeline", id: "attempt-timeline" }, r.attempts.map((a, i) =>
    el("div", { class: "step" },
      el("span", { class: "muted" }, `#${i + 1}`),
      el("span", {}, el("b", {}, a.deployment), " ", el("span", { class: `badge ${a.kind}` }, a.kind), " ",
         el("span", { class: `badge ${a.outcome}` }, i === winner && r.attempts.some((x) => x.kind === "hedge") ? "won" : a.outcome)),
      el("div", {}, el("div", { class: `bar ${a.outcome}`, dataset: { w: a.latency_ms } }),
         el("span", { class: "muted" }, a.cause ? `failed over: ${a.cause}` : (a.outcome === "lost" ? "lost the hedge race" : ""))),
      el("span", {}, fmt.ms(a.latency_ms)))));
}

async function detail(view, id) {
  const [r, cfg] = await Promise.all([api(`/api/v1/requests/${encodeURIComponent(id)}`),
                                      fetch("config.json").then((x) => x.json()).catch(() => ({}))]);
  const trace = r.trace_id && cfg.trace_url ? el("a", { href: cfg.trace_url.replace("{trace_id}", r.trace_id), target: "_blank", rel: "noreferrer" }, r.trace_id)
    : (r.trace_id || "–");
  const kv = [["Request id", r.request_id], ["Client request id", r.client_request_id || "–"], ["Status", `${r.status} (HTTP ${r.http_status})`],
    ["Model asked", r.model_requested], ["Model served", r.model], ["Deployment", r.deployment || "–"],
    ["Key / workspace", `${r.key_id} / ${r.workspace || "–"}`], ["Agent / session", `${r.agent_id || "–"} / ${r.session_id || "–"}`],
    ["Tokens in / out / cached", `${fmt.int(r.prompt_tokens)} / ${fmt.int(r.completion_tokens)} / ${fmt.int(r.cached_tokens)}${r.estimated ? " (estimated)" : ""}`],
    ["Cost", r.cost_known ? fmt.usd(r.cost_usd) : "unknown (model has no price)"], ["Latency / first token", `${fmt.ms(r.latency_ms)} / ${r.ttft_ms ? fmt.ms(r.ttft_ms) : "–"}`],
    ["Started", fmt.time(r.started_at)], ["Trace", trace]];
  view.replaceChildren(el("p", {}, el("a", { href: "#/requests" }, "← all requests")),
    el("h1", {}, `Request ${r.request_id}`),
    el("div", { class: "row" },
      el("div", { class: "card" }, el("dl", { class: "kv" }, kv.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]))),
      el("div", { class: "card" }, el("h2", {}, "Attempt timeline"), timeline(r))));
  const longest = Math.max(1, ...r.attempts.map((a) => a.latency_ms));
  for (const bar of view.querySelectorAll(".timeline .bar")) bar.style.width = `${Math.max(1, (100 * Number(bar.dataset.w)) / longest)}%`;
}
