// The read-only page a share link opens for a hiring manager: the interview's report, transcript and recording
// through /v1/shares/{id}?token=…, and a form for the manager's scorecard. No key: the link's token is the access.
import { renderReport } from "./report-view.js";
import { el, setLang, t } from "./i18n.js";

const STRINGS = {
  en: {
    your_scorecard: "Your scorecard", name: "Your name", email: "Your e-mail", ratings: "Ratings (1–4)",
    recommendation: "Recommendation", comment: "Comment", submit: "Submit scorecard", recording: "Recording",
    transcript: "Transcript", no_recording: "No recording.", sent: "Thank you: your scorecard is saved.",
    unrated: "not rated", expires: "Link valid until {when}",
    rating_1: "1 definitely not", rating_2: "2 no", rating_3: "3 yes", rating_4: "4 strong yes",
    strong_yes: "Strong yes", yes: "Yes", no: "No", definitely_not: "Definitely not", no_decision: "No decision",
  },
  zh: {
    your_scorecard: "您的评分表", name: "您的姓名", email: "您的邮箱", ratings: "评分（1–4）",
    recommendation: "推荐意见", comment: "评语", submit: "提交评分表", recording: "录音",
    transcript: "面试记录", no_recording: "没有录音。", sent: "谢谢，您的评分表已保存。",
    unrated: "不评分", expires: "链接有效期至 {when}",
    rating_1: "1 绝对不行", rating_2: "2 否", rating_3: "3 是", rating_4: "4 强烈推荐",
    strong_yes: "强烈推荐", yes: "推荐", no: "不推荐", definitely_not: "绝对不推荐", no_decision: "暂无决定",
  },
};
const RECOMMENDATIONS = ["strong_yes", "yes", "no", "definitely_not", "no_decision"];
const $ = (id) => document.getElementById(id);
const shareId = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] ?? "");
const token = new URLSearchParams(location.search).get("token") ?? "";
const base = `/v1/shares/${encodeURIComponent(shareId)}`;
const withToken = (path) => `${path}?token=${encodeURIComponent(token)}`;
let words = STRINGS.en;
const s = (key, vars = {}) => (words[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ""));

function fail(message) {
  $("content").classList.add("hidden");
  $("error").textContent = message;
  $("error").classList.remove("hidden");
  document.body.dataset.loaded = "1";
}

async function call(path, options = {}) {
  const r = await fetch(withToken(path), options);
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new Error(body?.error?.message ?? `HTTP ${r.status}`);
  return body;
}

function scorecardItem(card) {
  return el("li", { "data-scorecard": card.id },
    el("strong", { text: `${card.reviewer_name}: ` }), s(card.recommendation),
    card.comment ? el("div", { text: card.comment }) : null);
}

function form(view) {
  for (const node of document.querySelectorAll("[data-s]")) node.textContent = s(node.dataset.s);
  $("sc-recommendation").replaceChildren(...RECOMMENDATIONS.map((r) => el("option", { value: r, text: s(r) })));
  $("sc-ratings").append(...(view.report.dimensions ?? []).map((d) => el("label", {}, `${d.name} `,
    el("select", { "data-dimension": d.name },
      el("option", { value: "", text: s("unrated") }),
      [1, 2, 3, 4].map((n) => el("option", { value: String(n), text: s(`rating_${n}`) }))))));
  $("scorecard").addEventListener("submit", async (event) => {
    event.preventDefault();
    const ratings = {};
    for (const select of $("sc-ratings").querySelectorAll("select")) {
      if (select.value) ratings[select.dataset.dimension] = Number(select.value);
    }
    const body = {
      name: $("sc-name").value, email: $("sc-email").value, ratings,
      recommendation: $("sc-recommendation").value, comment: $("sc-comment").value || null,
    };
    $("sc-submit").disabled = true;
    try {
      const card = await call(`${base}/scorecard`, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
      });
      $("scorecards").append(scorecardItem(card));
      $("sc-status").textContent = s("sent");
      $("scorecard").querySelectorAll("input, select, textarea, button").forEach((x) => { x.disabled = true; });
    } catch (err) {
      $("sc-status").textContent = err.message;
      $("sc-submit").disabled = false;
    }
  });
}

async function render() {
  let view;
  try {
    view = await call(base);
  } catch (err) {
    fail(err.message);
    return;
  }
  const language = setLang(view.report.language === "zh" ? "zh" : "en");
  words = STRINGS[language];
  $("share-title").textContent = `${view.candidate_name} — ${view.job_title}`;
  $("share-meta").textContent = s("expires", { when: new Date(view.share.expires_at).toLocaleString(language) });
  $("report").replaceChildren(renderReport(view.report, { hr: true }));
  $("transcript").replaceChildren(...view.transcript.flatMap((turn) => [
    el("li", { class: "q" }, el("div", { class: "kind", text: t(`kind_${turn.question_kind}`) }), turn.question),
    el("li", { class: "a" }, turn.answer),
  ]));
  $("recording").replaceChildren(view.recording_url
    ? el("audio", { controls: true, src: withToken(view.recording_url), style: "width:100%" })
    : el("p", { class: "muted small", text: s("no_recording") }));
  form(view);
  $("scorecards").replaceChildren(...view.scorecards.map(scorecardItem));
  $("content").classList.remove("hidden");
  document.body.dataset.loaded = "1";
}

render();
