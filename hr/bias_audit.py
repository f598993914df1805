"""The bias audit of New York City Local Law 144 (6 RCNY §5-300/§5-301): selection and scoring rates and impact
ratios by sex, race/ethnicity and their intersection, with the EEOC four-fifths checks beside them, and its CSV.

Demographics are self-identified, collected apart from the interview and joined only here; nothing in this
module reaches a prompt or a scorer. Definitions and caveats for HR are in docs/hr-analytics.md.
"""

from __future__ import annotations

import csv
import enum
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from scipy import stats

from dialogue.report import Recommendation

FOUR_FIFTHS = Fraction(4, 5)
# 6 RCNY §5-301(d): a category under 2 % of the data may be left out of the impact-ratio calculations.
SMALL_CATEGORY_SHARE = 0.02
RATIO_DECIMALS = 3
UNKNOWN = "(unknown)"
INTERSECTION_SEPARATOR = " / "


class Axis(enum.Enum):
    SEX = "sex"
    RACE_ETHNICITY = "race_ethnicity"
    INTERSECTION = "sex_x_race_ethnicity"


class RateKind(enum.Enum):
    SELECTION = "selection"  # §5-301(b): share given the outcome
    SCORING = "scoring"  # §5-301(c): share scoring strictly above the full sample's median


# The two selection measures the issue asks for, and the outcomes each counts as selected.
SELECTION_MEASURES: Mapping[str, frozenset[Recommendation]] = {
    "advance": frozenset({Recommendation.ADVANCE}),
    "advance_or_hold": frozenset({Recommendation.ADVANCE, Recommendation.HOLD}),
}
OVERALL = "overall"


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One assessed person: the tool's outcome and scores, and their voluntary self-identification (None: unknown)."""

    recommendation: Recommendation
    overall: float | None
    dimension_scores: Mapping[str, float]  # scored dimensions only; insufficient evidence is absent, never 0
    sex: str | None
    race_ethnicity: str | None


@dataclass(frozen=True, slots=True)
class GroupRate:
    category: str
    n: int
    hits: int  # selected, or scored above the median
    rate: float
    ci_low: float  # Wilson 95 %
    ci_high: float
    share_of_sample: float  # of the people with a known category on this axis
    under_2pct: bool
    excluded: bool  # left out of the impact-ratio calculations (§5-301(d)); its n and rate are still reported
    impact_ratio: float | None  # to 3 decimals; None when excluded or when no category has any hit
    four_fifths_flag: bool  # impact ratio below 0.8, judged on exact counts, not on the rounded ratio
    fisher_p: float | None  # two-sided Fisher exact test against the highest-rate category; None for that category
    shortfall: int  # more hits this category needs for its ratio to reach 0.8; 0 when not flagged
    flag_flips_with_one_person: bool  # one person's outcome, in any category, turned the other way changes the flag


@dataclass(frozen=True, slots=True)
class RateTable:
    measure: str  # "advance", "advance_or_hold", "overall" or a dimension's name
    kind: RateKind
    axis: Axis
    groups: tuple[GroupRate, ...]
    unknown: int  # assessed but not in any category on this axis, so not in the calculations
    reference: str | None  # the highest-rate category the impact ratios divide by
    median: float | None = None  # scoring tables: the full sample's median score


@dataclass(frozen=True, slots=True)
class BiasAudit:
    n: int
    tables: tuple[RateTable, ...]
    exclusion_justification: str | None = None  # given: categories under 2 % are excluded, and this says why
    notes: tuple[str, ...] = field(default=())

    def table(self, measure: str, axis: Axis) -> RateTable:
        return next(t for t in self.tables if t.measure == measure and t.axis == axis)


def _category(record: AuditRecord, axis: Axis) -> str | None:
    sex = (record.sex or "").strip() or None
    race = (record.race_ethnicity or "").strip() or None
    if axis is Axis.SEX:
        return sex
    if axis is Axis.RACE_ETHNICITY:
        return race
    return f"{sex}{INTERSECTION_SEPARATOR}{race}" if sex and race else None


def _flag(hits: int, n: int, reference: Fraction | None) -> bool:
    return reference is not None and reference > 0 and Fraction(hits, n) < FOUR_FIFTHS * reference


def _highest_rate(counts: Mapping[str, tuple[int, int]]) -> tuple[str | None, Fraction | None]:
    if not counts:
        return None, None
    # Ties go to the first name in sorted order, so the reference is reproducible.
    name = max(sorted(counts), key=lambda c: Fraction(counts[c][0], counts[c][1]))
    return name, Fraction(*counts[name])


def _flag_flips(category: str, counts: Mapping[str, tuple[int, int]]) -> bool:
    """Whether turning one person's outcome (in any compared category, either way) changes `category`'s flag.

    The reference can change with the flip, so it is recomputed for each: the flipped category's new rate against
    the best rate among the others."""
    rates = {c: Fraction(k, m) for c, (k, m) in counts.items()}
    ranked = sorted(rates.values(), reverse=True)
    hits, n = counts[category]
    flagged = _flag(hits, n, ranked[0])
    for other, (k, m) in counts.items():
        best_of_rest = ranked[0] if rates[other] < ranked[0] else (ranked[1] if len(ranked) > 1 else Fraction(0))
        for turned in (k - 1, k + 1):
            if 0 <= turned <= m:
                own = (turned, m) if other == category else (hits, n)
                if _flag(*own, max(Fraction(turned, m), best_of_rest)) != flagged:
                    return True
    return False


def _wilson(hits: int, n: int) -> tuple[float, float]:
    ci = stats.binomtest(hits, n).proportion_ci(confidence_level=0.95, method="wilson")
    return float(ci.low), float(ci.high)


def _rate_table(
    measure: str,
    kind: RateKind,
    axis: Axis,
    people: Sequence[tuple[str | None, bool]],
    exclude_small: bool,
    median: float | None = None,
) -> RateTable:
    known = [(c, hit) for c, hit in people if c is not None]
    tallies: dict[str, list[int]] = {}
    for c, hit in known:
        tally = tallies.setdefault(c, [0, 0])
        tally[0] += hit
        tally[1] += 1
    size = len(known)
    small = {c for c, (_, n) in tallies.items() if n / size < SMALL_CATEGORY_SHARE}
    compared = {c: (k, n) for c, (k, n) in tallies.items() if not (exclude_small and c in small)}
    reference, top = _highest_rate(compared)
    ref_hits, ref_n = compared[reference] if reference else (0, 0)
    groups = []
    for c in sorted(tallies):
        hits, n = tallies[c]
        low, high = _wilson(hits, n)
        in_ratio = c in compared and bool(top)
        flagged = in_ratio and _flag(hits, n, top)
        groups.append(
            GroupRate(
                category=c,
                n=n,
                hits=hits,
                rate=hits / n,
                ci_low=low,
                ci_high=high,
                share_of_sample=n / size,
                under_2pct=c in small,
                excluded=c not in compared,
                impact_ratio=round(float(Fraction(hits, n) / top), RATIO_DECIMALS) if in_ratio and top else None,
                four_fifths_flag=flagged,
                fisher_p=(
                    float(stats.fisher_exact([[hits, n - hits], [ref_hits, ref_n - ref_hits]]).pvalue)
                    if in_ratio and c != reference
                    else None
                ),
                shortfall=math.ceil(FOUR_FIFTHS * top * n) - hits if flagged and top else 0,
                flag_flips_with_one_person=c in compared and _flag_flips(c, compared),
            )
        )
    return RateTable(measure, kind, axis, tuple(groups), len(people) - size, reference, median)


def _scoring_tables(
    measure: str, scored: Sequence[tuple[AuditRecord, float]], exclude_small: bool
) -> Iterable[RateTable]:
    if not scored:
        return
    # §5-301(c)(1): the median of the full sample, unknown categories included.
    median = float(np.median([score for _, score in scored]))
    for axis in Axis:
        people = [(_category(r, axis), score > median) for r, score in scored]
        yield _rate_table(measure, RateKind.SCORING, axis, people, exclude_small, median)


def bias_audit(records: Sequence[AuditRecord], *, exclusion_justification: str | None = None) -> BiasAudit:
    """Selection rates (advance; advance or hold) and scoring rates (overall and each dimension) by sex,
    race/ethnicity and their intersection.

    Categories under 2 % are always reported and flagged; they are left out of impact ratios only when an
    `exclusion_justification` is given, because §5-301(d) lets the auditor exclude them only with a justification
    in the summary of results."""
    justification = (exclusion_justification or "").strip() or None
    exclude_small = justification is not None
    tables: list[RateTable] = []
    for measure, selected in SELECTION_MEASURES.items():
        for axis in Axis:
            people = [(_category(r, axis), r.recommendation in selected) for r in records]
            tables.append(_rate_table(measure, RateKind.SELECTION, axis, people, exclude_small))
    with_overall = [(r, r.overall) for r in records if r.overall is not None]
    tables.extend(_scoring_tables(OVERALL, with_overall, exclude_small))
    for dimension in sorted({d for r in records for d in r.dimension_scores}):
        scored = [(r, r.dimension_scores[dimension]) for r in records if dimension in r.dimension_scores]
        tables.extend(_scoring_tables(dimension, scored, exclude_small))
    notes = (
        (f"Categories under 2 % of the sample are excluded from impact ratios: {justification}",)
        if justification
        else ()
    )
    return BiasAudit(len(records), tuple(tables), justification, notes)


_CSV_COLUMNS = (
    "measure",
    "kind",
    "axis",
    "category",
    "n",
    "hits",
    "rate",
    "ci_low",
    "ci_high",
    "impact_ratio",
    "four_fifths_flag",
    "fisher_p",
    "shortfall_to_0.8",
    "flag_flips_with_one_person",
    "share_of_sample",
    "under_2pct",
    "excluded_from_impact_ratio",
    "reference",
    "median",
)


def _fmt(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def audit_csv(audit: BiasAudit) -> str:
    """The audit as CSV text, one row per category and table plus one `(unknown)` row per table."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_COLUMNS)
    for t in audit.tables:
        head = [t.measure, t.kind.value, t.axis.value]
        tail = [t.reference or "", _fmt(t.median, 2)]
        for g in t.groups:
            writer.writerow(
                [
                    *head,
                    g.category,
                    g.n,
                    g.hits,
                    _fmt(g.rate, 4),
                    _fmt(g.ci_low, 4),
                    _fmt(g.ci_high, 4),
                    _fmt(g.impact_ratio, RATIO_DECIMALS),
                    _yes(g.four_fifths_flag),
                    _fmt(g.fisher_p, 4),
                    g.shortfall,
                    _yes(g.flag_flips_with_one_person),
                    _fmt(g.share_of_sample, 4),
                    _yes(g.under_2pct),
                    _yes(g.excluded),
                    *tail,
                ]
            )
        writer.writerow([*head, UNKNOWN, t.unknown, *[""] * (len(_CSV_COLUMNS) - 7), *tail])
    return out.getvalue()
