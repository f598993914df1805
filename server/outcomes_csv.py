"""Performance outcomes uploaded as CSV: the columns, and the parse that names the line and column of a bad value.

A file is taken whole or not at all, so the parse reads every row before anything is stored.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date

from server.db.outcomes import NewOutcome

COLUMNS = ("interview_id", "score", "rated_at", "rater_saw_interview_scores")
_YES = {"yes", "true", "1", "y"}
_NO = {"no", "false", "0", "n"}
MAX_ROWS = 100_000  # far beyond any company's hires per upload; bounds the work one request can ask for
MAX_ID = 32  # an interview id's column width


class CsvProblem(ValueError):
    """A file the server cannot take; the message names the line (1 is the header) and the column."""


@dataclass(frozen=True, slots=True)
class ParsedRow:
    line: int
    outcome: NewOutcome


def _interview_id(line: int, raw: str) -> str:
    text = raw.strip()
    if not text or len(text) > MAX_ID:
        raise CsvProblem(f"line {line}, column interview_id: {raw!r} is not an interview id")
    return text


def _score(line: int, raw: str) -> float:
    try:
        score = float(raw.strip())
    except ValueError:
        raise CsvProblem(f"line {line}, column score: {raw!r} is not a number") from None
    if not math.isfinite(score):
        raise CsvProblem(f"line {line}, column score: {raw!r} is not a finite number")
    return score


def _rated_at(line: int, raw: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise CsvProblem(f"line {line}, column rated_at: {raw!r} is not a date as YYYY-MM-DD") from None


def _saw(line: int, raw: str) -> bool:
    text = raw.strip().lower()
    if text in _YES or text in _NO:
        return text in _YES
    raise CsvProblem(f"line {line}, column rater_saw_interview_scores: {raw!r} is not yes or no (true/false, 1/0)")


def parse_outcomes(body: bytes) -> list[ParsedRow]:
    """Every row of the file as an outcome, or CsvProblem for the first that is not one."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvProblem(f"the file is not UTF-8 text (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise CsvProblem(f"the file is empty; its first line names the columns: {','.join(COLUMNS)}") from None
    except csv.Error as exc:
        raise CsvProblem(f"line 1: {exc}") from None
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise CsvProblem(f"line 1: the header lacks column {', '.join(missing)}; it needs {','.join(COLUMNS)}")
    where = {c: header.index(c) for c in COLUMNS}
    rows: list[ParsedRow] = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # a blank line (a trailing newline, a spacer): no outcome, no error
            if len(cells) != len(header):
                raise CsvProblem(f"line {line}: {len(cells)} fields where the header has {len(header)}")
            if len(rows) == MAX_ROWS:
                raise CsvProblem(f"line {line}: more than {MAX_ROWS} outcomes in one file; upload it in parts")
            outcome = NewOutcome(
                _interview_id(line, cells[where["interview_id"]]),
                _score(line, cells[where["score"]]),
                _rated_at(line, cells[where["rated_at"]]),
                _saw(line, cells[where["rater_saw_interview_scores"]]),
            )
            rows.append(ParsedRow(line, outcome))
    except csv.Error as exc:
        raise CsvProblem(f"line {reader.line_num}: {exc}") from None
    if not rows:
        raise CsvProblem("the file has a header but no outcomes")
    return rows
