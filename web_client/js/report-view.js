// Renders a report (PROTOCOL.md's `report`) as DOM; shared by the candidate's page and HR's report view.
import { el, t } from "./i18n.js";

const fmt = (x) => (typeof x === "number" ? x.toFixed(1) : "–");

function bar(score) {
  const pct = Math.max(0, Math.min(100, (score ?? 0) * 10));
  return el("div", { class: "bar", "aria-hidden": "true" }, el("span", { style: `width:${pct}%` }));
}

function list(title, items, cls) {
  if (!items?.length) return null;
  return el("div", { class: cls }, el("h3", { text: title }), el("ul", {}, items.map((s) => el("li", { text: s }))));
}

/** The candidate's view (`candidate_report`): a band per dimension and overall, no scores. */
function renderBands(report, root) {
  root.append(el("div", { class: "row" }, el("div", { class: "grow" },
    el("div", { class: "muted small", text: t("overall") }),
    el("div", { class: "score-big", id: "overall", "data-band": report.band, text: t(`band_${report.band}`) }))));
  root.append(el("h3", { text: t("dimensions") }));
  root.append(el("div", { class: "dims" }, (report.dimensions ?? []).map((d) =>
    el("div", { class: "dim", "data-dimension": d.name, "data-band": d.band },
      el("div", { class: "head" }, el("span", { text: d.name }), el("span", { class: "dim-score", text: t(`band_${d.band}`) })),
      (d.evidence ?? []).length ? el("div", {},
        el("div", { class: "muted small", text: t("evidence") }),
        d.evidence.map((q) => el("blockquote", { text: `“${q}”` }))) : null))));
  root.append(list(t("strengths"), report.strengths, "strengths") ?? "");
  root.append(list(t("suggestions"), report.suggestions, "suggestions") ?? "");
  root.append(el("p", { class: "muted small", text: report.notice ?? t("report_note") }));
  return root;
}

/** `hr` adds the recommendation, weaknesses and each dimension's rationale. */
export function renderReport(report, { hr = false } = {}) {
  const root = el("div", { class: "report", "data-testid": "report" });
  if (!hr && report.band !== undefined) return renderBands(report, root);
  root.append(
    el("div", { class: "row" },
      el("div", { class: "grow" },
        el("div", { class: "muted small", text: t("overall") }),
        el("div", { class: "score-big", id: "overall", "aria-label": `${t("overall")}: ${fmt(report.overall)} ${t("out_of")}` },
          fmt(report.overall), el("span", { class: "muted small", text: ` / 10` }))),
      hr ? el("div", {},
        el("div", { class: "muted small", text: t("recommendation") }),
        el("div", { class: `rec ${report.recommendation}`, "data-recommendation": report.recommendation,
          text: t(`rec_${report.recommendation}`) }),
        el("div", { class: "muted small", text: t("rec_note") })) : null),
  );
  root.append(el("h3", { text: t("dimensions") }));
  const dims = el("div", { class: "dims" });
  for (const d of report.dimensions ?? []) {
    dims.append(el("div", { class: "dim", "data-dimension": d.name },
      el("div", { class: "head" }, el("span", { text: d.name }),
        el("span", { class: "dim-score", text: `${fmt(d.score)} / 10` })),
      bar(d.score),
      hr ? el("p", { class: "muted small" }, el("strong", { text: `${t("rationale")}: ` }), d.rationale ?? "") : null,
      (d.evidence ?? []).length ? el("div", {},
        el("div", { class: "muted small", text: t(hr ? "evidence_hr" : "evidence") }),
        d.evidence.map((q) => el("blockquote", { text: `“${q}”` }))) : null,
    ));
  }
  root.append(dims);
  root.append(list(t("strengths"), report.strengths, "strengths") ?? "");
  if (hr) root.append(list(t("weaknesses"), report.weaknesses, "weaknesses") ?? "");
  root.append(list(t("suggestions"), report.suggestions, "suggestions") ?? "");
  root.append(el("p", { class: "muted small", text: hr ? t("scored_by", { model: report.scored_by ?? "?" }) : t("report_note") }));
  return root;
}
