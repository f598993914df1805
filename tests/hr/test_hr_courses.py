"""hr.courses: a catalogue read from CSV and JSON (each refusal names its line or item), a job's competency map
checked against its dimensions and the catalogue, and a hire's weak dimensions mapped to courses with their reason."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

import pytest

from dialogue.report import DimensionScore, DimensionStatus, Recommendation, Report, ScorerInfo, band
from hr.courses import (
    CatalogueError,
    CompetencyMap,
    Course,
    catalogue_from_csv,
    catalogue_from_json,
    competency_map,
    recommend_courses,
)

CSV = (
    "\ufeffcourse_id,title,competencies,url,language,extra\n"
    "sql-101,SQL basics,sql.joins;sql.indexes,https://learn.example.com/sql,en,x\n"
    "sql-zh,SQL 入门,sql.joins,https://learn.example.com/sql-zh,zh,\n"
    "\n"
    "talk-1,Clear explanations,comm.explain,https://learn.example.com/talk,en,\n"
)


def test_a_csv_catalogue_is_read_with_its_competencies() -> None:
    courses = catalogue_from_csv(CSV.encode())
    assert [c.id for c in courses] == ["sql-101", "sql-zh", "talk-1"]
    assert courses[0] == Course(
        "sql-101", "SQL basics", ("sql.joins", "sql.indexes"), "https://learn.example.com/sql", "en"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("course_id,title,url,language\n", "line 1: the header lacks competencies"),
        ("", "the file is empty"),
        (
            "course_id,title,competencies,url,language\na,A,x,https://e.com/a,en\nb,B,,https://e.com/b,en\n",
            "line 3, competencies: name at least one",
        ),
        ("course_id,title,competencies,url,language\na,A,x,ftp://e.com/a,en\n", "line 2, url: 'ftp://e.com/a'"),
        ("course_id,title,competencies,url,language\na,A,x,https://e.com/a,English\n", "line 2, language"),
        ("course_id,title,competencies,url,language\na b,A,x,https://e.com/a,en\n", "line 2, course_id"),
        ("course_id,title,competencies,url,language\na,A,x\n", "line 2: 3 columns where the header has 5"),
        (
            "course_id,title,competencies,url,language\na,A,x,https://e.com/a,en\n\na,B,y,https://e.com/b,en\n",
            "line 4, course_id: 'a' is already used at line 2",
        ),
        ("course_id,title,competencies,url,language\n", "the catalogue has no courses"),
    ],
)
def test_a_bad_csv_is_refused_by_its_line(body: str, message: str) -> None:
    with pytest.raises(CatalogueError, match=re.escape(message)):
        catalogue_from_csv(body.encode())


def test_a_csv_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(CatalogueError, match="not UTF-8"):
        catalogue_from_csv("course_id,title,competencies,url,language\na,é,x,https://e.com,en\n".encode("latin-1"))


def test_a_json_catalogue_is_the_same_courses() -> None:
    items = [
        {
            "course_id": c.id,
            "title": c.title,
            "competencies": list(c.competencies),
            "url": c.url,
            "language": c.language,
        }
        for c in catalogue_from_csv(CSV.encode())
    ]
    assert catalogue_from_json(json.dumps(items).encode()) == catalogue_from_csv(CSV.encode())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{}", "a JSON array"),
        ("[1", "not JSON"),
        ('[{"course_id": "a"}]', "item 1: lacks title, competencies, url, language"),
        (
            '[{"course_id": "a", "title": "A", "competencies": ["x"], "url": "https://e.com", "language": "en"},'
            ' {"course_id": "b", "title": "B", "competencies": "x", "url": "https://e.com", "language": "en"}]',
            "item 2, competencies: a list",
        ),
        ('[{"course_id": 7, "title": "A", "competencies": ["x"], "url": "https://e.com", "language": "en"}]', "item 1"),
    ],
)
def test_a_bad_json_catalogue_is_refused_by_its_item(body: str, message: str) -> None:
    with pytest.raises(CatalogueError, match=message):
        catalogue_from_json(body.encode())


KNOWN = {"sql.joins", "sql.indexes", "comm.explain"}


def test_a_map_names_the_jobs_dimensions_and_known_competencies() -> None:
    m = competency_map({"sql": ["sql.joins", "sql.joins"]}, 4.0, ["sql", "talk"], KNOWN)
    assert m == CompetencyMap({"sql": ("sql.joins",)}, 4.0)


def test_an_unknown_competency_is_refused() -> None:
    with pytest.raises(CatalogueError, match=re.escape("dimension 'sql': unknown competency 'sql.window'")):
        competency_map({"sql": ["sql.window"]}, 5.0, ["sql"], KNOWN)


def test_a_dimension_the_job_has_not_is_refused() -> None:
    with pytest.raises(CatalogueError, match="no dimension 'cooking' in this job's plan"):
        competency_map({"cooking": ["sql.joins"]}, 5.0, ["sql"], KNOWN)


@pytest.mark.parametrize("bar", [0.0, 10.5])
def test_a_bar_off_the_scale_is_refused(bar: float) -> None:
    with pytest.raises(CatalogueError, match="weak_below"):
        competency_map({}, bar, ["sql"], KNOWN)


def report(scores: Mapping[str, float | None], evidence: Mapping[str, tuple[str, ...]], language: str) -> Report:
    return Report(
        overall=5.0,
        recommendation=Recommendation.HOLD,
        needs_human_review=False,
        dimensions=tuple(
            DimensionScore(
                name,
                1.0,
                DimensionStatus.SCORED if s is not None else DimensionStatus.INSUFFICIENT_EVIDENCE,
                s,
                band(s),
                evidence.get(name, ()),
                "",
                (),
                (),
            )
            for name, s in scores.items()
        ),
        answers=(),
        strengths=(),
        weaknesses=(),
        suggestions=(),
        scored_by="test",
        scorer=ScorerInfo("none", None, "test"),
        pass_threshold=6.0,
        language=language,
        answered_questions=1,
        total_questions=1,
    )


def test_weak_dimensions_map_to_courses_with_the_score_and_evidence_as_reason() -> None:
    courses = catalogue_from_csv(CSV.encode())
    mapping = CompetencyMap({"sql": ("sql.joins",), "talk": ("comm.explain",)}, 5.0)
    r = report(
        {"sql": 3.8, "talk": 4.99, "design": 2.0, "ops": None, "strong": 5.0},
        {"sql": ("I   usually just\nSELECT star",), "talk": ()},
        "zh",
    )
    weak = recommend_courses(r, mapping, courses)
    # Weakest first; `design` is weak but unmapped (no courses), `ops` has no evidence, `strong` is at the bar.
    assert [(w.dimension, w.score) for w in weak] == [("design", 2.0), ("sql", 3.8), ("talk", 4.99)]
    assert weak[0].competencies == () and weak[0].courses == ()
    sql = weak[1]
    assert [c.course.id for c in sql.courses] == ["sql-zh", "sql-101"]  # the interview's language first
    assert sql.courses[1].competencies == ("sql.joins",)
    assert sql.courses[0].reason == "sql 3.8/10: 'I usually just SELECT star'"
    assert weak[2].courses[0].reason == "talk 4.99/10: no evidence quote in the report"


def test_a_raised_bar_makes_more_dimensions_weak() -> None:
    r = report({"sql": 6.0}, {"sql": ("joins",)}, "en")
    courses = catalogue_from_csv(CSV.encode())
    assert recommend_courses(r, CompetencyMap({"sql": ("sql.joins",)}, 5.0), courses) == []
    (weak,) = recommend_courses(r, CompetencyMap({"sql": ("sql.joins",)}, 7.0), courses)
    assert [c.course.id for c in weak.courses] == ["sql-101", "sql-zh"]
