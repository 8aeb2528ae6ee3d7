// Reviews: the escalation review queue (low-confidence answers) with approve / reject.
import { api, el, notice, table } from "../api.js";

export async function render(view, ctx) {
  if (!ctx.master) {
    view.replaceChildren(el("h1", {}, "Reviews"), notice("The review queue needs the master key.", "info"));
    return;
  }
  const msg = el("div");
  const box = el("div", { id: "review-list" });
  async function resolve(r, action) {
    try {
      await api(`/api/v1/reviews/${encodeURIComponent(r.id)}`, { method: "POST", body: { action, reviewer: "console" } });
      msg.replaceChildren(notice(`${action === "approve" ? "Approved" : "Rejected"} ${r.id}.`, "info"));
      await list();
    } catch (e) { msg.replaceChildren(notice(`Could not ${action}: ${e.message}`)); }
  }
  async function list() {
    const q = await api("/api/v1/reviews?state=pending&limit=100");
    box.replaceChildren(table([
      ["Review", (r) => el("span", { class: "mono" }, r.id)], ["Task", (r) => r.task_type || "–"],
      ["Tier", (r) => r.tier || "–"], ["Confidence", (r) => Number(r.confidence || 0).toFixed(2)],
      ["Input", (r) => String(r.input ?? "").slice(0, 160)], ["Answer", (r) => String(r.output ?? "").slice(0, 200)],
      ["", (r) => el("span", {}, el("button", { onclick: () => resolve(r, "approve") }, "Approve"), " ",
                     el("button", { class: "danger", onclick: () => resolve(r, "reject") }, "Reject"))],
    ], q.data, { empty: "The review queue is empty." }));
  }
  view.replaceChildren(el("h1", {}, "Reviews"), msg, box);
  await list();
}
