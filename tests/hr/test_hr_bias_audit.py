"""hr.bias_audit: the Local Law 144 rates and impact ratios, the rule's worked example, and the EEOC checks."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialogue.report import Recommendation
from hr.bias_audit import AuditRecord, Axis, RateKind, RateTable, audit_csv, bias_audit

ADV, HOLD, REJ = Recommendation.ADVANCE, Recommendation.HOLD, Recommendation.REJECT

# 6 RCNY §5-301(d), the example of a tool that scores applicants for "culture fit": applicants per category and how
# many of them scored above the full sample's median. The applicant counts are the rule's; the above-median counts
# are the ones its published rates imply (64.2 % is 18/28 = 64.29 % truncated). The rule's table was read as far as
# Asian; the last two rows (Native American or Alaska Native 12 at 58.3 %, Two or More Races 24 at 50.0 %) are as
# recalled, and they make the race total 168, the same as the sex table's 92 + 76. The two tables cannot describe
# one sample, though: 84 people are above the median by sex and 83 by race. Each is rebuilt as its own sample.
RULE_SEX = {"Male": (92, 50), "Female": (76, 34)}
RULE_RACE = {
    "Hispanic or Latino": (28, 18),
    "White": (40, 15),
    "Black or African American": (32, 16),
    "Native Hawaiian or Pacific Islander": (8, 5),
    "Asian": (24, 10),
    "Native American or Alaska Native": (12, 7),
    "Two or More Races": (24, 12),
}


def _rule_sample(table: dict[str, tuple[int, int]], axis: Axis) -> list[AuditRecord]:
    """One record per applicant: above the median scores 8, the rest 3; the other axis is left unknown."""
    people = [(c, 8.0 if i < k else 3.0) for c, (n, k) in table.items() for i in range(n)]
    if axis is Axis.SEX:
        return [AuditRecord(REJ, score, {}, c, None) for c, score in people]
    return [AuditRecord(REJ, score, {}, None, c) for c, score in people]


def _by(table: RateTable) -> dict[str, tuple[float, float | None]]:
    return {g.category: (round(g.rate, 3), g.impact_ratio) for g in table.groups}


def test_reproduces_the_rules_worked_example_for_scoring_rates() -> None:
    sex = bias_audit(_rule_sample(RULE_SEX, Axis.SEX)).table("overall", Axis.SEX)
    assert sex.kind is RateKind.SCORING and sex.median == 5.5
    assert _by(sex) == {"Male": (0.543, 1.0), "Female": (0.447, 0.823)}
    race = bias_audit(_rule_sample(RULE_RACE, Axis.RACE_ETHNICITY)).table("overall", Axis.RACE_ETHNICITY)
    assert race.reference == "Hispanic or Latino"
    assert _by(race) == {
        "Hispanic or Latino": (0.643, 1.0),
        "White": (0.375, 0.583),
        "Black or African American": (0.5, 0.778),
        "Native Hawaiian or Pacific Islander": (0.625, 0.972),
        "Asian": (0.417, 0.648),
        "Native American or Alaska Native": (0.583, 0.907),
        "Two or More Races": (0.5, 0.778),
    }
    # The rule publishes two decimals; ours round to them.
    assert [round(g.impact_ratio or 0, 2) for g in race.groups if g.category in ("White", "Asian")] == [0.65, 0.58]


def test_the_median_is_the_full_samples_unknown_categories_included() -> None:
    # Known people score 1, 2, 3; two unknown people score 10: the median is 3 (not the known people's 2), so no
    # known person is above it.
    records = [AuditRecord(REJ, float(s), {}, "Female", "Asian") for s in (1, 2, 3)]
    records += [AuditRecord(REJ, 10.0, {}, None, None) for _ in range(2)]
    table = bias_audit(records).table("overall", Axis.SEX)
    assert table.median == 3.0
    assert table.unknown == 2
    assert [(g.category, g.hits, g.n) for g in table.groups] == [("Female", 0, 3)]


def test_selection_rates_count_advance_and_advance_or_hold_separately() -> None:
    records = [AuditRecord(o, None, {}, "Male", "White") for o in (ADV, ADV, HOLD, REJ)]
    records += [AuditRecord(o, None, {}, "Female", "White") for o in (ADV, HOLD, HOLD, REJ)]
    audit = bias_audit(records)
    advance = audit.table("advance", Axis.SEX)
    assert advance.kind is RateKind.SELECTION
    assert _by(advance) == {"Female": (0.25, 0.5), "Male": (0.5, 1.0)}
    assert _by(audit.table("advance_or_hold", Axis.SEX)) == {"Female": (0.75, 1.0), "Male": (0.75, 1.0)}


def test_intersection_is_unknown_when_either_half_is() -> None:
    records = [
        AuditRecord(ADV, None, {}, "Female", "Asian"),
        AuditRecord(ADV, None, {}, "Female", None),
        AuditRecord(REJ, None, {}, " ", "Asian"),  # a blank answer is no answer
    ]
    audit = bias_audit(records)
    inter = audit.table("advance", Axis.INTERSECTION)
    assert [g.category for g in inter.groups] == ["Female / Asian"]
    assert inter.unknown == 2
    assert audit.table("advance", Axis.SEX).unknown == 1
    assert audit.table("advance", Axis.RACE_ETHNICITY).unknown == 1


def _selection(groups: dict[str, tuple[int, int]], race: str = "White") -> list[AuditRecord]:
    """People per sex category with (n, advanced)."""
    return [AuditRecord(ADV if i < k else REJ, None, {}, sex, race) for sex, (n, k) in groups.items() for i in range(n)]


def test_a_category_under_two_percent_is_reported_and_flagged_but_excluded_only_with_a_justification() -> None:
    # "X" is 1 of 101 people (under 2 %) and advanced: its rate of 1.0 would be everyone's reference.
    records = _selection({"Male": (50, 25), "Female": (50, 20), "X": (1, 1)})
    kept = bias_audit(records).table("advance", Axis.SEX)
    x = next(g for g in kept.groups if g.category == "X")
    assert x.under_2pct and not x.excluded and kept.reference == "X"

    audit = bias_audit(records, exclusion_justification="one person cannot set a rate for a category")
    table = audit.table("advance", Axis.SEX)
    x = next(g for g in table.groups if g.category == "X")
    assert x.under_2pct and x.excluded
    assert (x.n, x.rate, x.impact_ratio, x.fisher_p) == (1, 1.0, None, None)
    assert table.reference == "Male"
    assert _by(table)["Female"] == (0.4, 0.8)
    assert "one person" in audit.notes[0]


def test_four_fifths_flag_is_judged_on_exact_counts() -> None:
    table = bias_audit(_selection({"Male": (20, 10), "Female": (20, 8), "Other": (20, 7)})).table("advance", Axis.SEX)
    flags = {g.category: g.four_fifths_flag for g in table.groups}
    assert flags == {"Male": False, "Female": False, "Other": True}  # 8/10 is exactly 0.8: not below it


def test_shortfall_is_the_fewest_more_selections_that_reach_four_fifths() -> None:
    groups = {"Male": (20, 10), "Female": (20, 3)}
    female = next(g for g in bias_audit(_selection(groups)).table("advance", Axis.SEX).groups if g.category == "Female")
    assert female.four_fifths_flag and female.shortfall == 5  # 0.8 × 0.5 × 20 = 8 selections, 3 now
    for more, flagged in ((4, True), (5, False)):
        again = bias_audit(_selection({"Male": (20, 10), "Female": (20, 3 + more)})).table("advance", Axis.SEX)
        assert next(g for g in again.groups if g.category == "Female").four_fifths_flag is flagged


def test_one_person_flip_test_marks_flags_on_the_edge() -> None:
    # Female 7/20 = 0.35 against 0.5 (ratio 0.70): one more selection gives 0.40, exactly 0.8, so the flag goes.
    # Other 2/20 (ratio 0.20) stays flagged whichever single outcome turns.
    table = bias_audit(_selection({"Male": (20, 10), "Female": (20, 7), "Other": (20, 2)})).table("advance", Axis.SEX)
    fragile = {g.category: (g.four_fifths_flag, g.flag_flips_with_one_person) for g in table.groups}
    assert fragile == {"Female": (True, True), "Male": (False, False), "Other": (True, False)}


def test_one_person_flip_test_sees_a_change_of_reference() -> None:
    # Female 8/20 is exactly 0.8 of Male's 10/20; one more Male selection raises the reference and flags Female.
    table = bias_audit(_selection({"Male": (20, 10), "Female": (20, 8)})).table("advance", Axis.SEX)
    female = next(g for g in table.groups if g.category == "Female")
    assert not female.four_fifths_flag and female.flag_flips_with_one_person


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 8).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))), min_size=2, max_size=4))
def test_one_person_flip_test_agrees_with_auditing_every_single_flip(sizes: list[tuple[int, int]]) -> None:
    groups = {f"S{i}": size for i, size in enumerate(sizes)}
    table = bias_audit(_selection(groups)).table("advance", Axis.SEX)
    for g in table.groups:
        changed = False
        for other, (n, k) in groups.items():
            for turned in (k - 1, k + 1):
                if 0 <= turned <= n:
                    again = bias_audit(_selection({**groups, other: (n, turned)})).table("advance", Axis.SEX)
                    changed |= (
                        next(h for h in again.groups if h.category == g.category).four_fifths_flag != g.four_fifths_flag
                    )
        assert g.flag_flips_with_one_person == changed


def _fisher_two_sided(a: int, b: int, c: int, d: int) -> float:
    """By hand: sum the hypergeometric probabilities of every table with these margins no likelier than this one."""
    row, col, n = a + b, a + c, a + b + c + d

    def p(x: int) -> float:
        return math.comb(col, x) * math.comb(n - col, row - x) / math.comb(n, row)

    observed = p(a)
    return sum(p(x) for x in range(max(0, row + col - n), min(row, col) + 1) if p(x) <= observed * (1 + 1e-9))


def _wilson_by_hand(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_fisher_p_and_wilson_ci_match_the_formulas() -> None:
    table = bias_audit(_selection({"Male": (12, 9), "Female": (10, 2)})).table("advance", Axis.SEX)
    male, female = (next(g for g in table.groups if g.category == c) for c in ("Male", "Female"))
    assert male.fisher_p is None
    assert female.fisher_p == pytest.approx(_fisher_two_sided(2, 8, 9, 3), rel=1e-9)
    assert female.fisher_p is not None and female.fisher_p < 0.05
    assert (female.ci_low, female.ci_high) == pytest.approx(_wilson_by_hand(2, 10), abs=1e-12)


def test_each_dimension_has_its_own_scoring_tables_over_those_it_scored() -> None:
    records = [
        AuditRecord(REJ, 5.0, {"sql": 9.0}, "Male", "Asian"),
        AuditRecord(REJ, 5.0, {"sql": 1.0, "design": 9.0}, "Female", "Asian"),
        AuditRecord(REJ, 5.0, {"design": 2.0}, "Female", "White"),
    ]
    audit = bias_audit(records)
    sql = audit.table("sql", Axis.SEX)
    assert sql.median == 5.0
    assert {(g.category, g.hits, g.n) for g in sql.groups} == {("Male", 1, 1), ("Female", 0, 1)}
    assert {(g.category, g.n) for g in audit.table("design", Axis.RACE_ETHNICITY).groups} == {
        ("Asian", 1),
        ("White", 1),
    }
    # Everyone at the median: nobody is above it, and no ratio can be formed.
    assert all(g.impact_ratio is None for g in audit.table("overall", Axis.SEX).groups)


def _rows(text: str) -> Sequence[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_carries_every_table_row_and_the_unknown_counts() -> None:
    records = [*_rule_sample(RULE_SEX, Axis.SEX), AuditRecord(REJ, 1.0, {}, None, "White")]
    audit = bias_audit(records)
    rows = _rows(audit_csv(audit))
    female = next(r for r in rows if (r["measure"], r["axis"], r["category"]) == ("overall", "sex", "Female"))
    assert (female["n"], female["hits"], female["impact_ratio"], female["four_fifths_flag"]) == (
        "76",
        "34",
        "0.823",
        "no",
    )
    unknown = next(r for r in rows if (r["measure"], r["axis"], r["category"]) == ("overall", "sex", "(unknown)"))
    assert unknown["n"] == "1" and unknown["impact_ratio"] == ""
    assert len(rows) == sum(len(t.groups) + 1 for t in audit.tables)
