// HR report view: scores with evidence per dimension, the whole transcript, and observers' comments.
import { renderReport } from "./report-view.js";
import { $, api, apiKey, boot, el, fmtTime, t } from "./hr.js";

const interviewId = decodeURIComponent(location.pathname.split("/").filter(Boolean)[2] ?? "");

async function render() {
  const iv = await api(`/v1/interviews/${encodeURIComponent(interviewId)}`);
  const job = await api(`/v1/jobs/${encodeURIComponent(iv.job_id)}`).catch(() => null);
  const cand = await api(`/v1/candidates/${encodeURIComponent(iv.candidate_id)}`).catch(() => null);
  $("rep-title").textContent = `${cand?.name ?? iv.candidate_id} — ${job?.title ?? ""}`;
  $("rep-meta").replaceChildren(`${t("status")}: `, el("span", { class: `badge ${iv.status}`, text: t(iv.status) }),
    ` · ${iv.mode} · ${fmtTime(iv.started_at)}`);
  $("report").replaceChildren(iv.report ? renderReport(iv.report, { hr: true }) : el("p", { class: "muted", text: t("no_report") }));
  $("transcript").replaceChildren(...iv.transcript.flatMap((turn) => [
    el("li", { class: "q" }, el("div", { class: "kind", text: t(`kind_${turn.question_kind}`) }), turn.question),
    el("li", { class: "a" }, turn.answer || t("no_answer")),
  ]));
  $("comments").replaceChildren(...(iv.comments.length
    ? iv.comments.map((c) => el("li", {}, el("strong", { text: `${c.author}: ` }), c.text))
    : [el("li", { class: "muted", text: t("no_comments") })]));
  await recording();
  document.body.dataset.loaded = "1";
}

// The recording (fetched with the key, so it plays from a blob URL) and its highlights to jump to.
async function recording() {
  const info = await api(`/v1/interviews/${encodeURIComponent(interviewId)}/highlights`).catch(() => null);
  const rec = info?.recording;
  if (!rec || rec.status === "none" || rec.status === "recording") {
    if (rec?.note) $("recording").replaceChildren(el("p", { class: "muted small", text: rec.note }));
    return;
  }
  const r = await fetch(`/v1/interviews/${encodeURIComponent(interviewId)}/recording`, {
    headers: { Authorization: `Bearer ${apiKey()}` },
  });
  if (!r.ok) {
    const body = await r.json().catch(() => null);
    $("recording").replaceChildren(el("p", { class: "muted small", text: body?.error?.message ?? t("no_recording") }));
    return;
  }
  const player = el("audio", { controls: true, src: URL.createObjectURL(await r.blob()), style: "width:100%" });
  const clock = (x) => `${Math.floor(x / 60)}:${String(Math.floor(x % 60)).padStart(2, "0")}`;
  const moments = (info.highlights ?? []).filter((h) => h.start != null).map((h) => el("li", {},
    el("button", { type: "button", onclick: () => { player.currentTime = h.start; player.play(); } }, clock(h.start)),
    " ", el("span", { class: "muted small", "data-kind": h.kind, text: `${t(`hl_${h.kind}`)}: ` }), `“${h.quote}”`,
    h.kind === "follow_up" ? el("div", { class: "muted small", text: `→ ${h.detail}` }) : ""));
  $("recording").replaceChildren(player, moments.length ? el("div", {}, el("h3", { text: t("highlights") }), el("ul", { class: "facts" }, moments)) : "");
}

boot(render);
