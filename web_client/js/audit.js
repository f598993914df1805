// The printable bias audit: GET /v1/audits/bias as tables of impact ratios by sex, race/ethnicity and their
// intersection, with unknown counts, four-fifths flags and the notes on small categories. The job and dates are in
// the URL (a printed page says what it covers); the key never is.
import { $, api, boot, el, showError, t } from "./hr.js";
import { lang } from "./i18n.js";

const AXES = ["sex", "race_ethnicity", "sex_x_race_ethnicity"];

export const pct = (x) => `${(100 * x).toFixed(1)} %`;
export const ratio = (x) => (x == null ? "–" : x.toFixed(3));
const pValue = (p) => (p == null ? "–" : p < 0.001 ? "< 0.001" : p.toFixed(3));

export function measureLabel(measure) {
  const key = `audit_m_${measure}`;
  const label = t(key);
  return label === key ? t("audit_m_dimension", { name: measure }) : label;
}

function groupRow(g, table) {
  const notes = [];
  if (g.under_2pct) notes.push(t(g.excluded ? "audit_small_excluded" : "audit_small", { share: pct(g.share_of_sample) }));
  if (g.four_fifths_flag && g.flag_flips_with_one_person) notes.push(t("audit_fragile"));
  if (g.category === table.reference) notes.push(t("audit_reference"));
  return el("tr", { "data-category": g.category, class: g.four_fifths_flag ? "flag" : null },
    el("th", { scope: "row", text: g.category }),
    el("td", { class: "num", "data-col": "n", text: String(g.n) }),
    el("td", { class: "num", "data-col": "hits", text: String(g.hits) }),
    el("td", { class: "num", "data-col": "rate", text: pct(g.rate) }),
    el("td", { class: "num", "data-col": "ci", text: `${pct(g.ci_low)} – ${pct(g.ci_high)}` }),
    el("td", { class: "num", "data-col": "impact_ratio", text: ratio(g.impact_ratio) }),
    el("td", { "data-col": "flag", text: g.four_fifths_flag ? t("audit_flag_yes") : t("audit_flag_no") }),
    el("td", { class: "num", "data-col": "fisher_p", text: pValue(g.fisher_p) }),
    el("td", { class: "num", "data-col": "shortfall", text: String(g.shortfall) }),
    el("td", { class: "small", "data-col": "notes", text: notes.join("; ") }));
}

function rateTable(table) {
  const head = ["audit_col_category", "audit_col_n", table.kind === "selection" ? "audit_col_selected" : "audit_col_above",
    "audit_col_rate", "audit_col_ci", "audit_col_ratio", "audit_col_flag", "audit_col_fisher", "audit_col_shortfall",
    "audit_col_notes"];
  const caption = [t(`audit_axis_${table.axis}`)];
  if (table.median != null) caption.push(t("audit_median", { x: table.median.toFixed(2) }));
  return el("div", { class: "table-wrap audit-table" },
    el("table", { "data-measure": table.measure, "data-axis": table.axis },
      el("caption", { text: caption.join(" · ") }),
      el("thead", {}, el("tr", {}, head.map((k, i) => el("th", { scope: "col", class: i && i !== 6 && i !== 9 ? "num" : null, text: t(k) })))),
      el("tbody", {},
        table.groups.map((g) => groupRow(g, table)),
        el("tr", { "data-category": "(unknown)", class: "unknown" },
          el("th", { scope: "row", text: t("audit_unknown") }),
          el("td", { class: "num", "data-col": "n", text: String(table.unknown) }),
          el("td", { colspan: "8", class: "small muted", text: t("audit_unknown_note") })))));
}

function measureSections(tables) {
  const measures = [...new Set(tables.map((x) => x.measure))];
  return measures.map((measure) => {
    const own = tables.filter((x) => x.measure === measure);
    const kind = own[0].kind;
    return el("section", { class: "card audit-measure", "data-measure": measure },
      el("h2", { text: measureLabel(measure) }),
      el("p", { class: "muted small", text: t(kind === "selection" ? "audit_selection_help" : "audit_scoring_help") }),
      AXES.map((axis) => own.find((x) => x.axis === axis)).filter(Boolean).map(rateTable));
  });
}

function query() {
  const q = new URLSearchParams();
  for (const [param, id] of [["job_id", "job"], ["from", "from"], ["to", "to"]]) if ($(id).value) q.set(param, $(id).value);
  return q;
}

async function fillJobs() {
  if ($("job").options.length > 1) return;
  const jobs = await api("/v1/jobs");
  $("job").append(...jobs.map((j) => el("option", { value: j.id, text: j.title })));
  const asked = new URLSearchParams(location.search);
  $("job").value = asked.get("job_id") ?? "";
  $("from").value = asked.get("from") ?? "";
  $("to").value = asked.get("to") ?? "";
}

async function render() {
  await fillJobs();
  const q = query();
  const data = await api(`/v1/audits/bias?${q}`);
  const job = $("job").selectedOptions[0]?.textContent ?? "";
  const period = data.start || data.end ? `${data.start ?? "…"} – ${data.end ?? "…"}` : t("audit_all_dates");
  const audit = data.audit;
  // replaceChildren would write a null as the text "null": the optional parts are filtered out first.
  $("audit-head").replaceChildren(...[
    el("h2", { text: `${job} · ${period}` }),
    el("ul", { class: "facts" },
      el("li", { "data-fact": "interviews", text: t("audit_interviews", { n: data.interviews }) }),
      data.unreadable_reports ? el("li", { text: t("audit_unreadable", { n: data.unreadable_reports }) }) : null,
      el("li", { text: t("audit_generated", { when: new Date().toLocaleString(lang() === "zh" ? "zh-CN" : "en") }) })),
    el("p", { class: "small", text: t("audit_about") }),
    audit.exclusion_justification ? el("p", { class: "small", text: t("audit_justification", { why: audit.exclusion_justification }) }) : null,
    audit.notes.length ? el("ul", { class: "facts small", id: "audit-notes" }, audit.notes.map((n) => el("li", { text: n }))) : null,
  ].filter(Boolean));
  $("audit-tables").replaceChildren(...(data.interviews && audit.tables.length ? measureSections(audit.tables) : [el("p", { class: "card muted", id: "audit-empty", text: t("audit_empty") })]));
  document.body.dataset.loaded = "1";
}

$("audit-form").addEventListener("submit", (e) => {
  e.preventDefault();
  history.replaceState(null, "", `?${query()}`);
  render().catch(showError);
});
$("print").addEventListener("click", () => window.print());
boot(render);
