// One job's charts on the HR dashboard, drawn with the vendored Chart.js (window.Chart, web_client/vendor/): the
// overall score distribution, the validity scatter of a dimension's score against performance with the fitted line
// and its 95 % interval, each question version's valid-answer rate with its interval, and the impact ratios of the
// bias audit. Every figure is the server's; this file only draws (the lines come from the server's r and interval).
import { api } from "./hr.js";
import { el, t } from "./i18n.js";

const BLUE = "#0b6bcb";
const GREY = "#8a929c";
const RED = "#c62828";
const GREEN = "#1a7f37";
const BINS = 10; // whole points of the 0-10 scale

const fixed = (x, d) => (x == null ? "–" : x.toFixed(d));

/** Interviews per whole point of the overall score: [0, 1), [1, 2), ... [9, 10]. */
export function histogram(scores) {
  const counts = new Array(BINS).fill(0);
  for (const s of scores) counts[Math.min(BINS - 1, Math.floor(s))] += 1;
  return counts;
}

function figure(name, title, ...extra) {
  const canvas = el("canvas", { role: "img", "aria-label": title });
  const node = el("figure", { class: "card chart", "data-chart": name },
    el("figcaption", { class: "small", style: "font-weight:600", text: title }),
    el("div", { class: "canvas-box" }, canvas), ...extra);
  return { node, canvas };
}

function draw(canvas, config) {
  // No animation: a chart is read, printed and screenshotted as it is.
  return new globalThis.Chart(canvas, { ...config, options: { animation: false, maintainAspectRatio: false, ...config.options } });
}

function scoreChart(box, scores) {
  const overall = scores.interviews.map((i) => i.overall).filter((x) => x != null);
  const { node, canvas } = figure("scores", t("charts_scores"));
  box.append(node);
  draw(canvas, {
    type: "bar",
    data: {
      labels: Array.from({ length: BINS }, (_, i) => `${i}–${i + 1}`),
      datasets: [{
        label: t("charts_count"),
        data: histogram(overall),
        // Bars at or above the pass threshold in green: those interviews recommend advancing.
        backgroundColor: Array.from({ length: BINS }, (_, i) => (i >= scores.pass_threshold ? GREEN : BLUE)),
      }],
    },
    options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
}

function mean(xs) { return xs.reduce((a, b) => a + b, 0) / xs.length; }
function sd(xs) {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** The straight line through the means with the standardised slope r, as the study's r describes the points. */
export function lineFor(points, r) {
  const xs = points.map((p) => p.x), ys = points.map((p) => p.y);
  const [mx, my, slope] = [mean(xs), mean(ys), (r * sd(ys)) / sd(xs)];
  return [Math.min(...xs), Math.max(...xs)].map((x) => ({ x, y: my + slope * (x - mx) }));
}

function validityFigure(scores, validity, dimension) {
  const points = scores.interviews
    .filter((i) => i.performance != null && i.dimension_scores[dimension] != null)
    .map((i) => ({ x: i.dimension_scores[dimension], y: i.performance }));
  const found = validity.dimensions.find((d) => d.dimension === dimension);
  const study = found?.study;
  const note = study
    ? t("charts_validity_r", { r: fixed(study.r, 2), low: fixed(study.ci_low, 2), high: fixed(study.ci_high, 2), n: study.n })
    : t("charts_validity_none", { why: found?.refusal?.message ?? "" });
  const { node, canvas } = figure("validity", t("charts_validity", { dimension }),
    el("p", { class: "small muted", "data-validity-note": dimension, text: note }));
  const datasets = [{ type: "scatter", label: t("charts_hires"), data: points, backgroundColor: BLUE }];
  if (study && points.length > 2) {
    datasets.push(
      { type: "line", label: t("charts_fit"), data: lineFor(points, study.r), borderColor: RED, pointRadius: 0 },
      { type: "line", label: t("charts_ci"), data: lineFor(points, study.ci_low), borderColor: GREY, borderDash: [4, 4], pointRadius: 0 },
      { type: "line", label: t("charts_ci"), data: lineFor(points, study.ci_high), borderColor: GREY, borderDash: [4, 4], pointRadius: 0 },
    );
  }
  return { node, canvas, config: {
    type: "scatter",
    data: { datasets },
    options: {
      plugins: { legend: { labels: { filter: (item, data) => data.datasets.findIndex((d) => d.label === item.text) === item.datasetIndex } } },
      scales: { x: { type: "linear", title: { display: true, text: dimension } }, y: { title: { display: true, text: t("charts_performance") } } },
    },
  } };
}

function validityChart(box, scores, validity) {
  const dimensions = validity.dimensions.map((d) => d.dimension);
  if (!dimensions.length) return;
  const slot = el("div", { class: "chart" });
  const pick = el("select", { "aria-label": t("charts_validity", { dimension: "…" }), class: "no-print" },
    dimensions.map((d) => el("option", { value: d, text: d })));
  pick.value = validity.dimensions.find((d) => d.study)?.dimension ?? dimensions[0];
  let chart = null;
  const show = () => {
    chart?.destroy();
    const { node, canvas, config } = validityFigure(scores, validity, pick.value);
    node.prepend(pick);
    slot.replaceChildren(node);
    chart = draw(canvas, config);
  };
  pick.addEventListener("change", show);
  box.append(slot);
  show();
}

function questionsChart(box, analytics) {
  const versions = analytics.questions;
  const { node, canvas } = figure("questions", t("charts_questions"));
  box.append(node);
  if (!versions.length) {
    node.append(el("p", { class: "small muted", text: t("charts_no_questions") }));
    return;
  }
  const pct = (x) => Math.round(1000 * x) / 10;
  draw(canvas, {
    type: "bar",
    data: {
      labels: versions.map((q) => `${q.question_id} v${q.version}`),
      datasets: [
        { label: t("charts_rate"), data: versions.map((q) => pct(q.stats.valid_first.rate)), backgroundColor: "#7fb2e5", order: 1 },
        // The interval as a floating bar from its low to its high end, drawn thin over the rate's bar (lower order
        // is drawn later, so on top).
        { label: t("charts_ci"), data: versions.map((q) => [pct(q.stats.valid_first.ci_low), pct(q.stats.valid_first.ci_high)]),
          backgroundColor: "#1b1f24", barPercentage: 0.08, grouped: false, order: 0 },
      ],
    },
    options: {
      scales: { y: { min: 0, max: 100, ticks: { callback: (v) => `${v} %` } } },
      plugins: { tooltip: { callbacks: { afterLabel: (c) => versions[c.dataIndex].text } } },
    },
  });
}

function impactChart(box, audit, jobId) {
  const tables = audit.audit.tables.filter((x) => x.measure === "advance" && x.axis !== "sex_x_race_ethnicity");
  const groups = tables.flatMap((x) => x.groups.filter((g) => !g.excluded).map((g) => ({ ...g, axis: x.axis })));
  const link = el("a", { href: `/hr/audit?job_id=${encodeURIComponent(jobId)}`, text: t("charts_open_audit") });
  const table = el("div", { class: "table-wrap audit-table" }, el("table", { "data-impact-table": "advance" },
    el("thead", {}, el("tr", {}, ["audit_col_category", "audit_col_n", "audit_col_rate", "audit_col_ratio", "audit_col_flag"]
      .map((k, i) => el("th", { scope: "col", class: i && i < 4 ? "num" : null, text: t(k) })))),
    el("tbody", {}, groups.map((g) => el("tr", { "data-category": g.category, class: g.four_fifths_flag ? "flag" : null },
      el("th", { scope: "row", text: g.category }),
      el("td", { class: "num", "data-col": "n", text: String(g.n) }),
      el("td", { class: "num", "data-col": "rate", text: `${(100 * g.rate).toFixed(1)} %` }),
      el("td", { class: "num", "data-col": "impact_ratio", text: fixed(g.impact_ratio, 3) }),
      el("td", { "data-col": "flag", text: g.four_fifths_flag ? t("audit_flag_yes") : t("audit_flag_no") }))))));
  const { node, canvas } = figure("impact", t("charts_impact"), table, el("p", { class: "small" }, link));
  box.append(node);
  draw(canvas, {
    type: "bar",
    data: {
      labels: groups.map((g) => g.category),
      datasets: [
        { label: t("audit_col_ratio"), data: groups.map((g) => g.impact_ratio),
          backgroundColor: groups.map((g) => (g.four_fifths_flag ? RED : BLUE)) },
        { type: "line", label: "0.8", data: groups.map(() => 0.8), borderColor: GREY, borderDash: [6, 4], pointRadius: 0 },
      ],
    },
    options: { indexAxis: "x", scales: { y: { min: 0, max: 1.2 } } },
  });
}

/** Fetches the job's figures and draws its charts into box; a part the server refuses says why instead. */
export async function renderJobCharts(box, jobId) {
  const id = encodeURIComponent(jobId);
  const [scores, validity, analytics, audit] = await Promise.allSettled([
    api(`/v1/jobs/${id}/scores`),
    api(`/v1/jobs/${id}/validity`),
    api(`/v1/jobs/${id}/questions/analytics`),
    api(`/v1/audits/bias?job_id=${id}`),
  ]);
  box.replaceChildren();
  const failed = (r) => box.append(el("p", { class: "small muted", text: String(r.reason?.message ?? r.reason) }));
  if (scores.status === "fulfilled") scoreChart(box, scores.value); else failed(scores);
  if (scores.status === "fulfilled" && validity.status === "fulfilled") validityChart(box, scores.value, validity.value);
  else if (validity.status === "rejected") failed(validity);
  if (analytics.status === "fulfilled") questionsChart(box, analytics.value); else failed(analytics);
  if (audit.status === "fulfilled") impactChart(box, audit.value, jobId); else failed(audit);
  box.dataset.loaded = "1";
}
