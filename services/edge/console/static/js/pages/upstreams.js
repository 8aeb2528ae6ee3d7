// Upstreams: each deployment's health, breaker state, latency and error rate, refreshed every 2 s.
import { api, el, fmt, notice, table } from "../api.js";

const COLUMNS = [
  ["Deployment", (d) => el("b", {}, d.name)],
  ["Provider", (d) => d.vendor || d.provider],
  ["Health", (d) => el("span", { class: `badge ${d.status}` }, d.status)],
  ["Breaker", (d) => el("span", { class: `badge ${d.breaker.state}` }, d.breaker.state.replace("_", "-"))],
  ["Consecutive failures", (d) => fmt.int(d.breaker.consecutive_failures)],
  ["Success rate", (d) => (d.window.calls ? fmt.pct(d.window.success_rate) : "–")],
  ["Error rate", (d) => (d.window.calls ? fmt.pct(d.window.failures / d.window.calls) : "–")],
  ["Calls (window)", (d) => fmt.int(d.window.calls)],
  ["Avg latency", (d) => fmt.ms(Math.round(d.avg_latency_ms))],
  ["Avg first token", (d) => fmt.ms(Math.round(d.avg_ttft_ms))],
  ["In flight", (d) => fmt.int(d.inflight)],
  ["Errors", (d) => Object.entries(d.errors_by_kind).map(([k, n]) => `${k}: ${n}`).join(", ") || "–"],
];

export async function render(view, ctx) {
  if (!ctx.master) {
    view.replaceChildren(el("h1", {}, "Upstreams"), notice("Upstream health needs the master key.", "info"));
    return;
  }
  const box = el("div", { id: "upstream-table" });
  const stamp = el("span", { class: "muted" });
  view.replaceChildren(el("h1", {}, "Upstreams ", stamp), box);
  let stopped = false;
  async function tick() {
    try {
      const h = await api("/api/v1/health/upstreams");
      box.replaceChildren(h.degraded ? notice(`Routers run on local state: ${h.state_store} unavailable.`) : "",
                          table(COLUMNS, h.data));
      stamp.textContent = `· live, updated ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      box.replaceChildren(notice(`Upstream health unavailable: ${e.message}`));
    }
    if (!stopped) timer = setTimeout(tick, 2000);
  }
  let timer = null;
  ctx.onLeave(() => { stopped = true; clearTimeout(timer); });
  await tick();
}
