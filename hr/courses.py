"""Courses for a hire's weak dimensions: the course catalogue HR uploads (CSV or JSON), a job's map from its
dimensions to competency ids, and the courses each dimension scored below the job's bar leads to, with the reason.

Plain functions on plain values; the server stores catalogue, maps and recommendations (server/db/handoffs.py).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from dialogue.report import DimensionStatus, Report

CSV_COLUMNS = ("course_id", "title", "competencies", "url", "language")
DEFAULT_WEAK_BELOW = 5.0  # out of 10: the middle of the scale, under the `solid` band's 5.5
MAX_COURSES = 10_000
MAX_QUOTE = 200  # characters of an evidence quote in a reason
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")


class CatalogueError(ValueError):
    """A catalogue, map or request the rules refuse; the message names the line, item or id to fix."""


@dataclass(frozen=True, slots=True)
class Course:
    id: str
    title: str
    competencies: tuple[str, ...]  # the competency ids it trains
    url: str
    language: str  # e.g. en, zh


@dataclass(frozen=True, slots=True)
class CompetencyMap:
    """A job's dimensions mapped to competency ids, and the score (0-10) under which a hire's dimension is weak."""

    dimensions: Mapping[str, tuple[str, ...]]
    weak_below: float = DEFAULT_WEAK_BELOW


@dataclass(frozen=True, slots=True)
class CourseReason:
    course: Course
    competencies: tuple[str, ...]  # which of the dimension's competencies it trains
    reason: str  # "<dimension> 3.8/10: '<evidence quote>'"


@dataclass(frozen=True, slots=True)
class WeakDimension:
    dimension: str
    score: float
    evidence: str | None  # the report's first evidence quote for it
    competencies: tuple[str, ...]  # empty: the job's map does not name this dimension
    courses: tuple[CourseReason, ...]


def _course(where: str, course_id: str, title: str, competencies: Sequence[str], url: str, language: str) -> Course:
    course_id, title, url, language = course_id.strip(), " ".join(title.split()), url.strip(), language.strip()
    if not _ID.fullmatch(course_id):
        raise CatalogueError(f"{where}, course_id: {course_id!r} is not an id (letters, digits, _.:- up to 64)")
    if not 1 <= len(title) <= 300:
        raise CatalogueError(f"{where}, title: a title is 1 to 300 characters")
    ids = tuple(c.strip() for c in competencies if c.strip())
    if not ids:
        raise CatalogueError(f"{where}, competencies: name at least one competency id the course trains")
    for c in ids:
        if not _ID.fullmatch(c):
            raise CatalogueError(f"{where}, competencies: {c!r} is not an id (letters, digits, _.:- up to 64)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(url) > 2000:
        raise CatalogueError(f"{where}, url: {url!r} is not an http(s) address")
    if not _LANGUAGE.fullmatch(language):
        raise CatalogueError(f"{where}, language: {language!r} is not a language code such as en or zh")
    return Course(course_id, title, tuple(dict.fromkeys(ids)), url, language)


def _checked(courses: list[tuple[str, Course]]) -> list[Course]:
    if not courses:
        raise CatalogueError("the catalogue has no courses")
    if len(courses) > MAX_COURSES:
        raise CatalogueError(f"at most {MAX_COURSES} courses per catalogue, not {len(courses)}")
    seen: dict[str, str] = {}
    for where, course in courses:
        if course.id in seen:
            raise CatalogueError(f"{where}, course_id: {course.id!r} is already used at {seen[course.id]}")
        seen[course.id] = where
    return [c for _, c in courses]


def catalogue_from_csv(body: bytes) -> list[Course]:
    """Courses from UTF-8 CSV whose header names CSV_COLUMNS (any order; others ignored); competency ids in one
    cell are separated by `;`. A bad row is refused by its line number (the header is line 1)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogueError(f"the file is not UTF-8 text (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
        missing = [c for c in CSV_COLUMNS if c not in header]
        if missing:
            raise CatalogueError(f"line 1: the header lacks {', '.join(missing)}; it needs {','.join(CSV_COLUMNS)}")
        at = {c: header.index(c) for c in CSV_COLUMNS}
        courses = []
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < len(header):
                raise CatalogueError(f"line {line}: {len(row)} columns where the header has {len(header)}")
            cell = {c: row[i] for c, i in at.items()}
            course = _course(
                f"line {line}",
                cell["course_id"],
                cell["title"],
                cell["competencies"].split(";"),
                cell["url"],
                cell["language"],
            )
            courses.append((f"line {line}", course))
    except StopIteration:
        raise CatalogueError(f"the file is empty; its first line names the columns {','.join(CSV_COLUMNS)}") from None
    except csv.Error as exc:
        raise CatalogueError(f"line {reader.line_num}: {exc}") from None
    return _checked(courses)


def catalogue_from_json(body: bytes) -> list[Course]:
    """Courses from a JSON array of objects with CSV_COLUMNS' keys, `competencies` a list of ids; a bad item is
    refused by its position (item 1 is the first)."""
    try:
        items = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogueError(f"the body is not JSON: {exc}") from None
    if not isinstance(items, list):
        raise CatalogueError("the body is a JSON array of courses")
    courses = []
    for n, item in enumerate(items, start=1):
        where = f"item {n}"
        if not isinstance(item, dict):
            raise CatalogueError(f"{where}: a course is an object with {', '.join(CSV_COLUMNS)}")
        missing = [k for k in CSV_COLUMNS if k not in item]
        if missing:
            raise CatalogueError(f"{where}: lacks {', '.join(missing)}")
        strings = {k: item[k] for k in CSV_COLUMNS if k != "competencies"}
        for key, value in strings.items():
            if not isinstance(value, str):
                raise CatalogueError(f"{where}, {key}: a string")
        competencies = item["competencies"]
        if not isinstance(competencies, list) or not all(isinstance(c, str) for c in competencies):
            raise CatalogueError(f"{where}, competencies: a list of competency ids")
        course = _course(
            where, strings["course_id"], strings["title"], competencies, strings["url"], strings["language"]
        )
        courses.append((where, course))
    return _checked(courses)


def competency_map(
    dimensions: Mapping[str, Sequence[str]],
    weak_below: float,
    job_dimensions: Sequence[str],
    known_competencies: set[str],
) -> CompetencyMap:
    """A job's map, checked against the job's dimensions and the competencies the catalogue's courses train."""
    unknown = sorted(set(dimensions) - set(job_dimensions))
    if unknown:
        raise CatalogueError(
            f"no dimension {', '.join(map(repr, unknown))} in this job's plan; map {', '.join(map(repr, job_dimensions))}"
        )
    if not 0 < weak_below <= 10:
        raise CatalogueError(f"weak_below {weak_below}: a score out of 10, above 0")
    checked: dict[str, tuple[str, ...]] = {}
    for name, ids in dimensions.items():
        for c in ids:
            if c not in known_competencies:
                raise CatalogueError(
                    f"dimension {name!r}: unknown competency {c!r}; no course in the catalogue trains it "
                    "(upload a catalogue that has it first)"
                )
        checked[name] = tuple(dict.fromkeys(ids))
    return CompetencyMap(checked, weak_below)


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_QUOTE else flat[: MAX_QUOTE - 1] + "…"


def recommend_courses(report: Report, mapping: CompetencyMap, catalogue: Sequence[Course]) -> list[WeakDimension]:
    """Each scored dimension under `mapping.weak_below`, weakest first, with the catalogue's courses that train one
    of its competencies (courses in the interview's language first, then by id), each with its reason. A dimension
    with insufficient evidence is not weak: there is nothing to say it is."""
    weak = sorted(
        (
            (d.score, d)
            for d in report.dimensions
            if d.status is DimensionStatus.SCORED and d.score is not None and d.score < mapping.weak_below
        ),
        key=lambda pair: (pair[0], pair[1].name),
    )
    found = []
    for score, d in weak:
        quote = _quote(d.evidence[0]) if d.evidence else None
        reason = f"{d.name} {round(score, 2)}/10" + (f": '{quote}'" if quote else ": no evidence quote in the report")
        wanted = mapping.dimensions.get(d.name, ())
        matches = [
            CourseReason(c, tuple(x for x in c.competencies if x in wanted), reason)
            for c in sorted(catalogue, key=lambda c: (c.language != report.language, c.id))
            if set(c.competencies) & set(wanted)
        ]
        found.append(WeakDimension(d.name, score, quote, wanted, tuple(matches)))
    return found
