// Keys: create (the secret is shown once, here, and never again), list, edit limits and budget, revoke.
import { api, el, fmt, notice, table } from "../api.js";

function numberOrNull(v) { return v === "" || v === undefined ? undefined : Number(v); }

function body(form, creating) {
  const f = Object.fromEntries(new FormData(form).entries());
  const out = { name: f.name || undefined, rpm: numberOrNull(f.rpm), tpm: numberOrNull(f.tpm),
                budget_usd: numberOrNull(f.budget_usd), budget_period: f.budget_period || undefined,
                tier: f.tier === undefined ? undefined : f.tier,
                models: f.models ? f.models.split(",").map((m) => m.trim()).filter(Boolean) : undefined };
  if (creating) { out.workspace = f.workspace; out.agent_id = f.agent_id || undefined; }
  return JSON.parse(JSON.stringify(out));
}

function fields(k = {}) {
  return [
    el("label", {}, "Name", el("input", { name: "name", value: k.name || "" })),
    el("label", {}, "Models (comma separated, empty: all)", el("input", { name: "models", value: (k.models || []).join(", ") })),
    el("label", {}, "Requests per minute (0: none)", el("input", { name: "rpm", type: "number", min: 0, value: k.rpm ?? "" })),
    el("label", {}, "Tokens per minute (0: none)", el("input", { name: "tpm", type: "number", min: 0, value: k.tpm ?? "" })),
    el("label", {}, "Budget (USD, 0: none)", el("input", { name: "budget_usd", type: "number", min: 0, step: "0.01",
      value: k.budget_micros ? k.budget_micros / 1e6 : "" })),
    el("label", {}, "Budget period", el("select", { name: "budget_period" }, ["", "day", "week", "month"].map((p) =>
      el("option", { value: p, selected: (k.budget_period || "") === p }, p || "–")))),
    el("label", {}, "Tier", el("select", { name: "tier" }, ["", "economy", "standard", "premium"].map((t) =>
      el("option", { value: t, selected: (k.tier || "") === t }, t || "none")))),
  ];
}

export async function render(view, ctx) {
  if (!ctx.master) {
    view.replaceChildren(el("h1", {}, "Keys"), notice("Managing keys needs the master key; this key is read-only here.", "info"));
    return;
  }
  const secretBox = el("div", { id: "new-secret" });
  const listBox = el("div", { id: "key-list" });
  const editBox = el("div", { id: "key-edit" });
  const create = el("form", { class: "stack card", id: "key-create" }, el("h2", {}, "Create a key"),
    el("label", {}, "Workspace", el("input", { name: "workspace", required: true, pattern: "[A-Za-z0-9._\\-]+" })),
    el("label", {}, "Agent (optional)", el("input", { name: "agent_id" })),
    fields(), el("button", { type: "submit" }, "Create key"));
  create.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const k = await api("/api/v1/keys", { method: "POST", body: body(create, true) });
      create.reset();
      secretBox.replaceChildren(el("div", { class: "card" }, el("h2", {}, `Key ${k.key_id} created`),
        el("p", {}, "Copy the secret now: it is shown this once and cannot be recovered."),
        el("div", { class: "secret", id: "secret-value" }, k.key),
        el("button", { class: "secondary", id: "secret-dismiss", onclick: () => secretBox.replaceChildren() }, "I have stored it")));
      await list();
    } catch (e) {
      secretBox.replaceChildren(notice(`Could not create the key: ${e.message}`));
    }
  });

  async function edit(k) {
    const form = el("form", { class: "stack card", id: "key-edit-form" }, el("h2", {}, `Edit ${k.key_id}`), fields(k),
      el("div", {}, el("button", { type: "submit" }, "Save"), " ",
         el("button", { type: "button", class: "secondary", onclick: () => editBox.replaceChildren() }, "Cancel")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        await api(`/api/v1/keys/${encodeURIComponent(k.key_id)}`, { method: "PATCH", body: body(form, false) });
        editBox.replaceChildren(notice(`Saved ${k.key_id}.`, "info"));
        await list();
      } catch (e) { editBox.prepend(notice(`Could not save: ${e.message}`)); }
    });
    editBox.replaceChildren(form);
  }

  async function revoke(k) {
    if (!window.confirm(`Revoke ${k.key_id}? Requests with it fail from now on.`)) return;
    await api(`/api/v1/keys/${encodeURIComponent(k.key_id)}`, { method: "DELETE" });
    await list();
  }

  async function list() {
    const keys = await api("/api/v1/keys");
    listBox.replaceChildren(table([
      ["Id", (k) => el("span", { class: "mono" }, k.key_id)], ["Name", (k) => k.name || "–"], ["Workspace", (k) => k.workspace],
      ["Agent", (k) => k.agent_id || "–"], ["Limits", (k) => `${k.rpm ? `${fmt.int(k.rpm)} rpm` : "–"} · ${k.tpm ? `${fmt.int(k.tpm)} tpm` : "–"}`],
      ["Budget", (k) => (k.budget_micros ? `$${(k.budget_micros / 1e6).toFixed(2)} / ${k.budget_period || "month"}` : "–")],
      ["Expires", (k) => (k.expires_at ? new Date(k.expires_at * 1000).toISOString().slice(0, 16).replace("T", " ") : "never")],
      ["", (k) => (el("span", {},
        el("button", { class: "secondary", "data-edit": k.key_id, onclick: (ev) => { ev.stopPropagation(); edit(k); } }, "Edit"), " ",
        el("button", { class: "danger", "data-revoke": k.key_id, onclick: (ev) => { ev.stopPropagation(); revoke(k); } }, "Revoke")))],
    ], keys.data, { empty: "No virtual keys yet." }));
  }

  view.replaceChildren(el("h1", {}, "Keys"), secretBox, el("div", { class: "row" }, create, editBox), listBox);
  await list();
}
