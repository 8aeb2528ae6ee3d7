// The console's shell: sign in, the navigation, and one page at a time in #view (hash routes).
import { api, ApiError, el, notice, session } from "./api.js";
import * as overview from "./pages/overview.js";
import * as requests from "./pages/requests.js";
import * as upstreams from "./pages/upstreams.js";
import * as keys from "./pages/keys.js";
import * as agents from "./pages/agents.js";
import * as reviews from "./pages/reviews.js";

const PAGES = { overview, requests, upstreams, keys, agents, reviews };
const view = document.getElementById("view");
let leaving = [];

function leave() {
  for (const fn of leaving) { try { fn(); } catch { /* a page's cleanup must not stop the next page */ } }
  leaving = [];
}

async function whoAmI(key) {
  await api("/v1/models", { key }); // 401 for a wrong key
  try {
    await api("/api/v1/keys", { key });
    return "master";
  } catch (e) {
    if (e instanceof ApiError && e.status === 403) return "virtual";
    throw e;
  }
}

function signInForm(message) {
  document.getElementById("nav").hidden = true;
  document.getElementById("signout").hidden = true;
  document.getElementById("who").textContent = "";
  const input = el("input", { id: "signin-key", type: "password", autocomplete: "off", required: true,
                              placeholder: "sk-ty-... or the master key", "aria-label": "API key" });
  const form = el("form", { class: "card signin", id: "signin" },
    el("h1", {}, "Sign in"),
    el("p", { class: "muted" }, "Use the master key to see everything, or a virtual key to see its workspace. " +
      "The key stays in this tab's session storage and is sent only as an Authorization header."),
    message ? notice(message) : null,
    input, el("button", { type: "submit", id: "signin-submit" }, "Sign in"));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const key = input.value.trim();
    input.value = "";
    try {
      session.save(key, await whoAmI(key));
      if (location.hash === "#/overview") route(); else location.hash = "#/overview"; // hashchange routes
    } catch (e) {
      session.clear();
      view.replaceChildren(signInForm(e.status === 401 ? "That key was not accepted." : `Sign-in failed: ${e.message}`));
    }
  });
  return form;
}

async function route() {
  leave();
  if (!session.key) { view.replaceChildren(signInForm()); return; }
  const [name, ...rest] = (location.hash.replace(/^#\/?/, "") || "overview").split("/");
  const page = PAGES[name] || overview;
  document.getElementById("nav").hidden = false;
  document.getElementById("signout").hidden = false;
  document.getElementById("who").textContent = session.master ? "master key" : "virtual key (workspace, read-only)";
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.page === (PAGES[name] ? name : "overview"));
  const ctx = { params: rest.map(decodeURIComponent), master: session.master, onLeave: (fn) => leaving.push(fn) };
  // Each navigation renders into its own element: a slower page still loading when the user moves on
  // then fills a detached element, never the page that replaced it.
  const target = el("div", {}, el("p", { class: "muted" }, "Loading…"));
  view.replaceChildren(target);
  try {
    await page.render(target, ctx);
  } catch (e) {
    if (!target.isConnected) return;
    if (e instanceof ApiError && e.status === 401) { session.clear(); view.replaceChildren(signInForm("Your key is no longer accepted.")); return; }
    target.replaceChildren(notice(`Could not load this page: ${e.message}`));
  }
}

document.getElementById("signout").addEventListener("click", () => { session.clear(); leave(); location.hash = ""; route(); });
window.addEventListener("hashchange", route);
route();
