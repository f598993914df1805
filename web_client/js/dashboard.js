// HR dashboard: jobs with interviews counted by invitation, status, pass and review (each number lists its
// interviews), the interviews live now, e-mail the server could not send, the reviews due, offer suggestions
// waiting for a named person's decision, and the courses recommended to new hires.
import { $, api, boot, el, fmtScore, fmtTime, showError, statusBadge, t } from "./hr.js";
import { renderJobCharts } from "./charts.js";
import { lang } from "./i18n.js";

const STATUSES = ["scheduled", "live", "completed", "abandoned"];
// Each number of a job's card, and which of its interviews it counts (the rows shown when it is chosen).
const MEASURES = {
  invited: { count: (job) => job.invited, has: (iv) => iv.invited },
  ...Object.fromEntries(STATUSES.map((s) => [s, { count: (job) => job.counts[s] ?? 0, has: (iv) => iv.status === s }])),
  passed: { count: (job) => job.passed, has: (iv, job) => iv.overall != null && iv.overall >= job.pass_threshold },
  awaiting_review: { count: (job) => job.awaiting_review, has: (iv) => iv.awaiting_review },
};
// The number chosen per job, kept across the ten-second refresh.
const chosen = new Map();
let timer = null;
// Each job's charts, kept across the ten-second refresh: drawn once when first opened, moved into the new card.
const chartPanels = new Map();

function chartPanel(job) {
  let panel = chartPanels.get(job.id);
  if (!panel) {
    const box = el("div", { class: "charts", "data-charts": job.id });
    panel = el("details", { class: "job-charts" }, el("summary", { text: t("charts_title") }), box);
    panel.addEventListener("toggle", () => {
      if (panel.open && !box.dataset.loaded) renderJobCharts(box, job.id).catch((err) => box.replaceChildren(el("p", { class: "small muted", text: err.message })));
    });
    chartPanels.set(job.id, panel);
  }
  panel.querySelector("summary").textContent = t("charts_title");
  const box = panel.querySelector(".charts");
  if (box.dataset.loaded && box.dataset.lang !== lang()) {
    delete box.dataset.loaded;  // drawn in the other language: draw again when next opened
    if (panel.open) panel.dispatchEvent(new Event("toggle"));
  }
  box.dataset.lang = lang();
  return panel;
}

function jobCard(job) {
  const picked = chosen.get(job.id);
  const counts = el("dl", { class: "stats" },
    Object.entries(MEASURES).map(([s, m]) => {
      const button = el("button", { type: "button", class: "link", "data-count": s, "aria-pressed": String(picked === s), text: String(m.count(job)) });
      button.addEventListener("click", () => {
        chosen.set(job.id, picked === s ? null : s);
        render().catch((err) => showError(err));
      });
      return el("div", { class: `stat ${s}${picked === s ? " chosen" : ""}` }, el("dt", { text: t(s) }), el("dd", {}, button));
    }));
  const shown = picked ? job.interviews.filter((iv) => MEASURES[picked].has(iv, job)) : job.interviews;
  const rows = shown.map((iv) => el("tr", { "data-interview": iv.id },
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
      el("summary", { text: picked ? `${t("interviews")}: ${t(picked)} (${shown.length})` : `${t("interviews")} (${job.total})` }),
      el("div", { class: "table-wrap" }, el("table", {},
        el("thead", {}, el("tr", {}, ["candidate", "status", "score", ""].map((k) => el("th", { scope: "col", class: k === "score" ? "num" : null, text: k ? t(k) : "" })))),
        el("tbody", {}, rows)))) : null,
    chartPanel(job));
}

const DECIDER = "shanmian.decider";

// Interview id -> candidate name, from the jobs' interview lists (the hand-offs name only ids).
function candidateNames(jobs) {
  return new Map(jobs.flatMap((job) => job.interviews.map((iv) => [iv.id, iv.candidate_name])));
}

async function decide(offer, verdict) {
  const decidedBy = $("decider").value.trim();
  if (!decidedBy) {
    $("decider").setCustomValidity(t("offers_need_name"));
    $("decider").reportValidity();
    return;
  }
  sessionStorage.setItem(DECIDER, decidedBy);
  await api(`/v1/offers/${encodeURIComponent(offer.id)}/${verdict}`, { method: "POST", body: JSON.stringify({ decided_by: decidedBy }) });
  await render();
}

function offerItem(offer, names) {
  const who = names.get(offer.interview_id) || offer.candidate_id.slice(0, 8);
  const button = (verdict, cls) => {
    const b = el("button", { type: "button", class: cls, "data-decide": verdict, text: t(`offers_${verdict}`) });
    b.addEventListener("click", () => decide(offer, verdict).catch((err) => showError(err)));
    return b;
  };
  return el("li", { "data-offer": offer.id },
    el("a", { href: `/hr/report/${offer.interview_id}`, text: who }),
    el("span", { text: ` — ${t("offers_line", { role: offer.role, level: t(`level_${offer.level}`), from: offer.start_earliest, to: offer.start_latest })}` }),
    el("div", { class: "muted small", text: offer.level_reason }),
    el("div", { class: "row" }, button("approve", "primary"), button("reject", "")));
}

function trainingItem(rec, names) {
  const who = names.get(rec.interview_id) || rec.candidate_id.slice(0, 8);
  return el("li", { "data-training": rec.id },
    el("a", { href: `/hr/report/${rec.interview_id}`, text: who }),
    el("ul", {}, rec.dimensions.map((d) => el("li", { "data-dimension": d.dimension },
      el("strong", { text: `${d.dimension} ${fmtScore(d.score)}/10` }),
      d.courses.length
        ? el("ul", {}, d.courses.map((c) => el("li", { "data-course": c.course_id },
            el("a", { href: c.url, rel: "noopener noreferrer", target: "_blank", text: c.title }),
            el("span", { class: "muted small", text: ` — ${c.reason}` }))))
        : el("span", { class: "muted small", text: ` — ${t("training_no_course")}` })))));
}

// A message the server could not send (no SMTP server configured, or it failed): its text is fetched when opened.
function mailItem(message) {
  const text = el("pre", { class: "small", style: "white-space:pre-wrap" });
  const item = el("details", { "data-mail": message.id, "data-state": message.state },
    el("summary", { text: `${message.subject} → ${message.to} · ${t(`mail_${message.state}`)} · ${fmtTime(message.created_at)}` }),
    text);
  item.addEventListener("toggle", () => {
    if (item.open && !text.textContent) {
      api(`/v1/mail/${encodeURIComponent(message.id)}`).then((m) => { text.textContent = m.text; }).catch((err) => showError(err));
    }
  });
  return el("li", {}, item);
}

function dueItem(task) {
  return el("li", { "data-review": task.id },
    el("a", { href: `/hr/report/${task.interview_id}`, text: task.candidate_name || task.interview_id.slice(0, 8) }),
    el("span", { text: ` — ${task.job_title} · ${t(`due_${task.reason}`, { who: task.reviewer_name ?? "" })}` }),
    el("span", { class: "muted small", text: ` · ${t("due_by", { when: fmtTime(task.due_at) })}` }));
}

async function render() {
  clearTimeout(timer);
  const data = await api("/v1/dashboard");
  $("live").replaceChildren(...(data.live.length
    ? data.live.map((iv) => el("li", { "data-interview": iv.id },
        el("a", { href: `/hr/observe/${iv.id}`, text: `${t("observe")}: ${iv.candidate_name || iv.id.slice(0, 8)}` }),
        el("span", { class: "muted", text: ` — ${iv.job_title}` })))
    : [el("li", { class: "muted", text: t("none_live") })]));
  const [held, failed] = await Promise.all([api("/v1/mail?state=held&limit=20"), api("/v1/mail?state=failed&limit=20")]);
  const unsent = [...failed, ...held];
  $("mail-section").classList.toggle("hidden", !unsent.length);
  // Kept open across the refresh: the list is rebuilt only when it changed.
  const key = unsent.map((m) => `${m.id}:${m.state}`).join(",");
  if ($("mail").dataset.key !== key) {
    $("mail").dataset.key = key;
    $("mail").replaceChildren(...unsent.map(mailItem));
  }
  $("due").replaceChildren(...(data.reviews_due.length
    ? data.reviews_due.map(dueItem)
    : [el("li", { class: "muted", text: t("due_none") })]));
  const names = candidateNames(data.jobs);
  $("offers").replaceChildren(...(data.offer_suggestions.length
    ? data.offer_suggestions.map((o) => offerItem(o, names))
    : [el("li", { class: "muted", text: t("offers_none") })]));
  $("training").replaceChildren(...(data.training_recommendations.length
    ? data.training_recommendations.map((r) => trainingItem(r, names))
    : [el("li", { class: "muted", text: t("training_none") })]));
  $("jobs").replaceChildren(...(data.jobs.length ? data.jobs.map(jobCard) : [el("p", { class: "card muted", text: t("no_jobs") })]));
  document.querySelector("#live-title .dot").classList.toggle("on", data.live.length > 0);
  document.body.dataset.loaded = "1";
  timer = setTimeout(() => render().catch(() => {}), 10_000);
}

$("decider").value = sessionStorage.getItem(DECIDER) ?? "";
$("decider").addEventListener("input", () => $("decider").setCustomValidity(""));
$("refresh").addEventListener("click", () => render());
boot(render);
