// Overview: requests, tokens, cost and error rate over the period (charts), breakdowns by model,
// deployment, agent and key, and what budgets and tier quotas have used.
import { api, el, fmt, notice, table } from "../api.js";
import { dayChart } from "../charts.js";

let period = "week";

function stat(label, value, id) {
  return el("div", { class: "stat", id }, el("div", { class: "v" }, value), el("div", { class: "k" }, label));
}

function breakdown(title, rows, idTitle) {
  return el("div", { class: "card" }, el("h2", {}, title), table([
    [idTitle, (r) => r.id ?? r.model],
    ["Requests", (r) => fmt.int(r.requests)],
    ["Tokens", (r) => fmt.int(r.total_tokens)],
    ["Cost", (r) => fmt.usd(r.cost_usd)],
    ["Errors", (r) => fmt.int(r.errors)],
  ], rows.slice(0, 20)));
}

export async function render(view, ctx) {
  const s = await api(`/api/v1/usage/summary?period=${period}&limit=20`);
  const t = s.totals;
  const switcher = el("div", { class: "period" }, ["day", "week", "month"].map((p) =>
    el("button", { class: p === period ? "active" : "secondary", id: `period-${p}`,
                   onclick: () => { period = p; render(view, ctx); } }, p)));
  const charts = el("div", { class: "charts" });
  const chartBoxes = ["requests", "tokens", "cost", "errors"].map((id) => el("div", { class: "card chart", id: `chart-${id}` }));
  charts.append(...chartBoxes);
  view.replaceChildren(
    el("div", { class: "row" }, el("h1", {}, `Overview · ${s.start_date} – ${s.end_date}`), switcher),
    el("div", { class: "stats" },
      stat("requests", fmt.int(t.requests), "stat-requests"),
      stat("tokens", fmt.int(t.total_tokens), "stat-tokens"),
      stat("cost", fmt.usd(t.cost_usd), "stat-cost"),
      stat("error rate", fmt.pct(t.requests ? t.errors / t.requests : 0), "stat-errors")),
    charts,
    el("div", { class: "row" },
      breakdown("By model", s.by_model, "Model"),
      breakdown("By deployment", s.by_deployment || [], "Deployment")),
    el("div", { class: "row" },
      breakdown("By agent", s.by_agent || [], "Agent"),
      breakdown("By key", s.by_key || [], "Key")),
    el("div", { class: "row", id: "quotas" }));
  const days = s.by_date;
  const plots = [
    dayChart(chartBoxes[0], "Requests per day", days, [{ label: "requests", value: (d) => d.requests }]),
    dayChart(chartBoxes[1], "Tokens per day", days, [{ label: "prompt", value: (d) => d.prompt_tokens },
                                                   { label: "completion", value: (d) => d.completion_tokens }]),
    dayChart(chartBoxes[2], "Cost per day (USD)", days, [{ label: "cost", value: (d) => Number(d.cost_usd) }],
             { format: (v) => `$${v > 0 && v < 0.01 ? v.toFixed(6).replace(/0+$/, "") : v.toFixed(2)}` }),
    dayChart(chartBoxes[3], "Error rate per day (%)", days, [{ label: "error rate", value: (d) => (d.requests ? 100 * d.errors / d.requests : 0) }],
             { format: (v) => `${v}%` }),
  ];
  ctx.onLeave(() => plots.forEach((p) => p.destroy()));
  await quotas(view.querySelector("#quotas"), ctx.master);
}

async function quotas(box, master) {
  try {
    const tiers = await api("/api/v1/usage/tiers");
    const limits = Object.fromEntries(tiers.tiers.map((t) => [t.name, t.monthly_tokens]));
    box.append(el("div", { class: "card" }, el("h2", {}, `Tier quotas · ${tiers.month}`), table([
      ["Tier", (r) => r.tier], ["Subject", (r) => r.subject], ["Workspace", (r) => r.workspace],
      ["Used", (r) => `${fmt.int(r.tokens_used)} / ${fmt.int(limits[r.tier])}`],
      ["Over", (r) => fmt.int(r.tokens_over)], ["Overage cost", (r) => fmt.usd(r.overage_cost_usd)],
    ], tiers.subjects, { empty: "No tier usage this month." })));
  } catch (e) {
    box.append(notice(`Tier quotas unavailable: ${e.message}`, "info"));
  }
  if (!master) return; // budgets are the operator's (master key) view
  try {
    const budgets = await api("/api/v1/budgets");
    const dollars = (micros) => `$${(Number(micros || 0) / 1e6).toFixed(6)}`;
    box.append(el("div", { class: "card" }, el("h2", {}, "Budgets"), table([
      ["Kind", (b) => b.kind], ["Id", (b) => b.id], ["Period", (b) => b.period],
      ["Spent", (b) => `${dollars(b.spent_micros)} of ${fmt.usd(b.budget_usd)}`], ["Reserved", (b) => dollars(b.reserved_micros)],
    ], budgets.data, { empty: "No budgets set." })));
  } catch (e) {
    box.append(notice(`Budgets unavailable: ${e.message}`, "info"));
  }
}
