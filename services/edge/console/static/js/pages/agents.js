// Agents: the health widget (GET /api/v1/agents/health), the list with process status and start/stop,
// and per agent its LLM config form (the BYOK key is write-only), live logs and sessions.
import { api, el, fmt, notice, streamEvents, table } from "../api.js";

function healthWidget(h) {
  const s = h.summary;
  return el("div", { class: "card", id: "agent-health" }, el("h2", {}, `Agent health · last ${Math.round(h.window_seconds / 60)} min`),
    el("div", { class: "stats" },
      ["healthy", "degraded", "unhealthy"].map((k) => el("div", { class: "stat" },
        el("div", { class: "v" }, el("span", { class: `badge ${k}` }, String(s[k]))), el("div", { class: "k" }, k))),
      el("div", { class: "stat" }, el("div", { class: "v" }, fmt.pct(s.success_rate)), el("div", { class: "k" }, "success rate"))),
    table([
      ["Agent", (a) => a.agent_id], ["Status", (a) => el("span", { class: `badge ${a.status}` }, a.status)],
      ["Success rate", (a) => fmt.pct(a.success_rate)], ["Requests", (a) => fmt.int(a.requests)],
      ["Consecutive failures", (a) => fmt.int(a.consecutive_failures)],
      ["Latency p50 / p95 / p99", (a) => `${fmt.ms(a.latency_ms.p50)} / ${fmt.ms(a.latency_ms.p95)} / ${fmt.ms(a.latency_ms.p99)}`],
      ["Errors", (a) => Object.entries(a.errors_by_type).map(([k, n]) => `${k}: ${n}`).join(", ") || "–"],
    ], h.data, { empty: "No agent traffic in the window." }));
}

export async function render(view, ctx) {
  if (ctx.params[0]) return detail(view, ctx, ctx.params[0]);
  if (!ctx.master) {
    view.replaceChildren(el("h1", {}, "Agents"), notice("Agents are managed with the master key.", "info"));
    return;
  }
  const [agents, health] = await Promise.all([api("/api/v1/agents"), api("/api/v1/agents/health").catch((e) => ({ error: e }))]);
  const statuses = await Promise.all(agents.data.map((a) => api(`/api/v1/agents/${encodeURIComponent(a.id)}/health`).catch(() => null)));
  const byId = Object.fromEntries(agents.data.map((a, i) => [a.id, statuses[i]]));
  view.replaceChildren(el("h1", {}, "Agents"),
    health.error ? notice(`Agent health unavailable: ${health.error.message}`) : healthWidget(health),
    table([
      ["Agent", (a) => el("a", { href: `#/agents/${encodeURIComponent(a.id)}` }, a.name || a.id)],
      ["Kind", (a) => (a.kind || "").replace("AGENT_KIND_", "").toLowerCase() || "–"],
      ["Model", (a) => a.model || a.tier || "–"], ["Workspace", (a) => a.workspace || "–"],
      ["Process", (a) => { const h = byId[a.id]; return h ? el("span", { class: `badge ${h.status}` }, h.status) : "–"; }],
      ["Uptime", (a) => { const h = byId[a.id]; return h && h.uptimeSeconds ? `${Math.round(h.uptimeSeconds)} s` : "–"; }],
    ], agents.data, { onRow: (a) => { location.hash = `#/agents/${encodeURIComponent(a.id)}`; }, empty: "No agents yet." }));
}

async function detail(view, ctx, id) {
  const enc = encodeURIComponent(id);
  const [agent, llm] = await Promise.all([api(`/api/v1/agents/${enc}`), api(`/api/v1/agents/${enc}/llm-config`)]);
  const status = el("span", { id: "agent-status" });
  const logs = el("div", { class: "logs", id: "agent-logs" });
  const sessions = el("div", { id: "agent-sessions" });
  const msg = el("div");
  async function refresh() {
    const h = await api(`/api/v1/agents/${enc}/health`).catch(() => null);
    status.replaceChildren(h ? el("span", { class: `badge ${h.status}` }, h.status) : "unknown",
      h && h.pid ? ` pid ${h.pid}, restarts ${h.restarts}` : "");
  }
  async function act(what) {
    try {
      await api(`/api/v1/agents/${enc}/${what}`, { method: "POST" });
      msg.replaceChildren(notice(`${what === "start" ? "Started" : "Stopped"} ${id}.`, "info"));
      if (what === "start") follow();
    } catch (e) { msg.replaceChildren(notice(`Could not ${what}: ${e.message}`)); }
    await refresh();
  }
  let abort = null;
  function follow() {
    if (abort) abort.abort();
    abort = new AbortController();
    logs.replaceChildren();
    streamEvents(`/api/v1/agents/${enc}/logs?follow=true&tail=200`, (name, data) => {
      if (name === "message" && data.line !== undefined) {
        logs.append(el("div", {}, data.line));
        logs.scrollTop = logs.scrollHeight;
      } else if (name === "error") logs.append(el("div", { class: "muted" }, `[${data.error?.message || "stream error"}]`));
    }, abort.signal).catch((e) => { if (e.name !== "AbortError") logs.append(el("div", { class: "muted" }, `[logs: ${e.message}]`)); });
  }
  ctx.onLeave(() => abort && abort.abort());

  const form = el("form", { class: "stack card", id: "llm-form" }, el("h2", {}, "LLM config"),
    el("label", {}, "Provider", el("input", { name: "provider", value: llm.provider || "", placeholder: "openai, anthropic…" })),
    el("label", {}, "Model", el("input", { name: "model", value: llm.model || "" })),
    el("label", {}, "Base URL", el("input", { name: "baseUrl", value: llm.baseUrl || "" })),
    el("label", {}, `API key (write-only${llm.hasKey ? "; a key is stored, leave empty to keep it" : ""})`,
      el("input", { name: "apiKey", type: "password", autocomplete: "off", placeholder: llm.hasKey ? "•••••• stored" : "none" })),
    el("label", {}, el("span", {}, el("input", { type: "checkbox", name: "removeKey" }), " remove the stored key")),
    el("button", { type: "submit" }, "Save LLM config"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = Object.fromEntries(new FormData(form).entries());
    const body = { provider: f.provider, model: f.model, baseUrl: f.baseUrl };
    if (f.removeKey) body.apiKey = null; else if (f.apiKey) body.apiKey = f.apiKey;
    try {
      const saved = await api(`/api/v1/agents/${enc}/llm-config`, { method: "PUT", body });
      const keyInput = form.querySelector("[name=apiKey]");
      keyInput.value = "";
      keyInput.placeholder = saved.hasKey ? "•••••• stored" : "none";
      form.querySelector("[name=removeKey]").checked = false;
      msg.replaceChildren(notice(`Saved. ${saved.hasKey ? "A key is stored." : "No key stored."}`, "info"));
    } catch (e) { msg.replaceChildren(notice(`Could not save: ${e.message}`)); }
  });

  view.replaceChildren(el("p", {}, el("a", { href: "#/agents" }, "← all agents")),
    el("h1", {}, `Agent ${agent.name || id} `, status), msg,
    el("div", {}, el("button", { id: "agent-start", onclick: () => act("start") }, "Start"), " ",
       el("button", { id: "agent-stop", class: "danger", onclick: () => act("stop") }, "Stop"), " ",
       el("button", { class: "secondary", onclick: follow }, "Follow logs")),
    el("div", { class: "row" }, form,
      el("div", { class: "card" }, el("h2", {}, "Live logs"), logs)),
    el("div", { class: "card" }, el("h2", {}, "Sessions"), sessions));
  await refresh();
  follow();
  const s = await api(`/api/v1/sessions?agent_id=${enc}&limit=50`).catch((e) => ({ error: e }));
  sessions.replaceChildren(s.error ? notice(`Sessions unavailable: ${s.error.message}`) : table([
    ["Session", (x) => el("span", { class: "mono" }, x.id)], ["User", (x) => x.user || "–"],
    ["Messages", (x) => fmt.int(x.messageCount)],
    ["Updated", (x) => (x.updatedAtMs ? new Date(Number(x.updatedAtMs)).toISOString().replace("T", " ").slice(0, 19) : "–")],
  ], s.data, { empty: "No sessions." }));
}
