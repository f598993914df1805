// Shared by the HR pages: the API key (asked once, kept in sessionStorage), authorised fetches, the header.
import { apply, el, guessLang, lang, setLang, t, wireSwitch } from "./i18n.js";

const KEY = "shanmian.apiKey";

export const $ = (id) => document.getElementById(id);

export function apiKey() { return sessionStorage.getItem(KEY); }

export class Unauthorized extends Error {}

export async function api(path, options = {}) {
  const r = await fetch(path, {
    ...options,
    headers: { Authorization: `Bearer ${apiKey()}`, "Content-Type": "application/json", ...(options.headers ?? {}) },
  });
  if (r.status === 401) {
    sessionStorage.removeItem(KEY);
    throw new Unauthorized(t("hr_key_bad"));
  }
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new Error(body?.error?.message ?? `${r.status} ${r.statusText}`);
  return body;
}

// The header, error banner and key form every HR page shares; the page names its title (an i18n key) in
// <body data-hr-title> and holds its own content in <main><div id="content">.
function mountShell() {
  const title = document.body.dataset.hrTitle;
  document.querySelector("main").insertAdjacentHTML("afterbegin", `
  <div id="banner" class="hidden" role="alert"></div>
  <form id="key-form" class="card hidden">
    <label for="api-key" data-i18n="hr_key_label"></label>
    <p class="muted small" data-i18n="hr_key_hint"></p>
    <div class="row"><input class="grow" type="password" id="api-key" autocomplete="off" style="flex:1;width:auto">
      <button type="submit" class="primary" data-i18n="hr_key_save"></button></div>
    <p id="key-error" class="small" style="color:var(--bad)" role="alert"></p>
  </form>`);
  document.body.insertAdjacentHTML("afterbegin", `
<header class="top">
  <a class="brand" href="/hr/" style="color:#fff;text-decoration:none">Shanmian 闪面<small data-i18n="${title}"></small></a>
  <span class="spacer"></span>
  <button type="button" id="lang-switch"></button>
  <button type="button" id="sign-out" data-i18n="hr_key_forget"></button>
</header>`);
}

/** Sets up the shared header, language and the key form; resolves once a key is known, then calls render(). */
export function boot(render, { needsKey = true } = {}) {
  mountShell();
  setLang(sessionStorage.getItem("shanmian.lang") ?? guessLang());
  apply();
  wireSwitch($("lang-switch"), (lang) => {
    sessionStorage.setItem("shanmian.lang", lang);
    apply();
    if (apiKey()) render();
  });
  $("sign-out")?.addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    location.reload();
  });
  const form = $("key-form");
  const ask = (message = "") => {
    form.classList.remove("hidden");
    $("content").classList.add("hidden");
    $("key-error").textContent = message;
    $("api-key").focus();
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const key = $("api-key").value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY, key);
    try {
      await api("/v1/jobs");
    } catch (err) {
      ask(err.message);
      return;
    }
    form.classList.add("hidden");
    $("content").classList.remove("hidden");
    $("api-key").value = "";
    render();
  });
  if (!needsKey) $("sign-out")?.classList.add("hidden");
  if (needsKey && !apiKey()) {
    ask();
    return;
  }
  form.classList.add("hidden");
  $("content").classList.remove("hidden");
  render().catch?.((err) => (err instanceof Unauthorized ? ask(err.message) : showError(err)));
}

export function showError(err) {
  const b = $("banner");
  b.className = "banner error";
  b.textContent = String(err.message ?? err);
}

export function statusBadge(status) {
  return el("span", { class: `badge ${status}`, "data-status": status, text: t(status) });
}

export function fmtScore(x) { return typeof x === "number" ? x.toFixed(1) : "–"; }

/** A server timestamp (ISO 8601 with its UTC offset) in the reader's locale and time zone; "" for none. */
export function fmtTime(iso) {
  if (!iso) return "";
  // An offset-less value would be read as local time; the server's clock is UTC.
  const when = new Date(/(?:Z|[+-]\d\d:?\d\d)$/i.test(iso) ? iso : `${iso}Z`);
  return Number.isNaN(when.getTime()) ? iso : when.toLocaleString(lang() === "zh" ? "zh-CN" : "en");
}

export { el, t };
