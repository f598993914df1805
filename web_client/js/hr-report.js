// HR report view: scores with evidence per dimension, the whole transcript, and observers' comments.
import { renderReport } from "./report-view.js";
import { $, api, boot, el, t } from "./hr.js";

const interviewId = decodeURIComponent(location.pathname.split("/").filter(Boolean)[2] ?? "");

async function render() {
  const iv = await api(`/v1/interviews/${encodeURIComponent(interviewId)}`);
  const job = await api(`/v1/jobs/${encodeURIComponent(iv.job_id)}`).catch(() => null);
  const cand = await api(`/v1/candidates/${encodeURIComponent(iv.candidate_id)}`).catch(() => null);
  $("rep-title").textContent = `${cand?.name ?? iv.candidate_id} — ${job?.title ?? ""}`;
  $("rep-meta").replaceChildren(`${t("status")}: `, el("span", { class: `badge ${iv.status}`, text: t(iv.status) }),
    ` · ${iv.mode} · ${iv.started_at ? new Date(`${iv.started_at}Z`).toLocaleString() : ""}`);
  $("report").replaceChildren(iv.report ? renderReport(iv.report, { hr: true }) : el("p", { class: "muted", text: t("no_report") }));
  $("transcript").replaceChildren(...iv.transcript.flatMap((turn) => [
    el("li", { class: "q" }, el("div", { class: "kind", text: t(`kind_${turn.question_kind}`) }), turn.question),
    el("li", { class: "a" }, turn.answer || t("no_answer")),
  ]));
  $("comments").replaceChildren(...(iv.comments.length
    ? iv.comments.map((c) => el("li", {}, el("strong", { text: `${c.author}: ` }), c.text))
    : [el("li", { class: "muted", text: t("no_comments") })]));
  document.body.dataset.loaded = "1";
}

boot(render);
