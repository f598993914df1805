// HR dashboard: jobs with interviews by status, completed and passed counts, and the interviews live now.
import { $, api, boot, el, fmtScore, statusBadge, t } from "./hr.js";

const STATUSES = ["scheduled", "live", "completed", "abandoned"];
let timer = null;

function jobCard(job) {
  const counts = el("dl", { class: "stats" },
    [...STATUSES, "passed"].map((s) => el("div", { class: `stat ${s}` },
      el("dt", { text: t(s) }),
      el("dd", { "data-count": s, text: String(s === "passed" ? job.passed : job.counts[s] ?? 0) }))));
  const rows = job.interviews.map((iv) => el("tr", { "data-interview": iv.id },
    el("td", { text: iv.candidate_name || iv.candidate_id.slice(0, 8) }),
    el("td", {}, statusBadge(iv.status)),
    el("td", { class: "num", text: fmtScore(iv.overall) }),
    el("td", {},
      iv.status === "live" ? el("a", { href: `/hr/observe/${iv.id}`, text: t("observe") }) : null,
      iv.status === "live" && iv.overall != null ? " · " : null,
      iv.overall != null || iv.status === "completed" ? el("a", { href: `/hr/report/${iv.id}`, text: t("report") }) : null)));
  return el("article", { class: "card job", "data-job": job.id, "aria-label": job.title },
    el("div", { class: "row", style: "justify-content:space-between" },
      el("h3", { style: "margin:0", text: job.title }),
      el("span", { class: "muted small", text: `${job.language} · ${t("pass_threshold", { x: job.pass_threshold })}` })),
    counts,
    rows.length ? el("details", { open: true },
      el("summary", { text: `${t("interviews")} (${job.total})` }),
      el("div", { class: "table-wrap" }, el("table", {},
        el("thead", {}, el("tr", {}, ["candidate", "status", "score", ""].map((k) => el("th", { scope: "col", class: k === "score" ? "num" : null, text: k ? t(k) : "" })))),
        el("tbody", {}, rows)))) : null);
}

async function render() {
  clearTimeout(timer);
  const data = await api("/v1/dashboard");
  $("live").replaceChildren(...(data.live.length
    ? data.live.map((iv) => el("li", { "data-interview": iv.id },
        el("a", { href: `/hr/observe/${iv.id}`, text: `${t("observe")}: ${iv.candidate_name || iv.id.slice(0, 8)}` }),
        el("span", { class: "muted", text: ` — ${iv.job_title}` })))
    : [el("li", { class: "muted", text: t("none_live") })]));
  $("jobs").replaceChildren(...(data.jobs.length ? data.jobs.map(jobCard) : [el("p", { class: "card muted", text: t("no_jobs") })]));
  document.querySelector("#live-title .dot").classList.toggle("on", data.live.length > 0);
  document.body.dataset.loaded = "1";
  timer = setTimeout(() => render().catch(() => {}), 10_000);
}

$("refresh").addEventListener("click", () => render());
boot(render);
