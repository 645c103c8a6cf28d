"""Reading a CSV of leads: the header's aliases, rows keyed by lead field names, and the rows that cannot be
held at all (a NUL, a cell longer than any lead field), each reported with its number. Pure; imports.py
runs it in its job."""

from __future__ import annotations

import csv
import io

from crm.core.inputs import text_problem
from crm.leads.normalise import FIELDS

MAX_ROWS = 100_000
MAX_VALUE = 1_000  # characters in one cell: no lead field is longer
ROW_PROBLEM = "__unreadable__"
csv.field_size_limit(16 * 1024 * 1024)  # a long cell is one bad row (reported), not an unreadable file
HEADER_ALIASES = {
    "phone_number": "phone",
    "mobile": "phone",
    "e-mail": "email",
    "mail": "email",
    "firstname": "first_name",
    "lastname": "last_name",
    "surname": "last_name",
    "dob": "date_of_birth",
    "birth_date": "date_of_birth",
    "lang": "language",
    "referral_code": "ib_code",
    "ib": "ib_code",
    "id": "external_id",
}


def _header(name: str) -> str:
    key = name.strip().lower().replace(" ", "_")
    return HEADER_ALIASES.get(key, key)


def _unstorable(values: list[str]) -> str | None:
    """Why a row cannot be read as a lead at all (its other checks are intake's), or None."""
    for value in values:
        problem = text_problem(value, max_length=MAX_VALUE)
        if problem:
            return f"A value {problem}."
    return None


def parse(content: bytes) -> tuple[list[dict], list[dict]]:
    """Rows as dicts keyed by known field names (a row that cannot be held is `{ROW_PROBLEM: reason}`, so
    it is reported with its number), and file-level problems."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [{"row": 0, "field": "file", "message": "The file is not UTF-8 text."}]
    reader = csv.reader(io.StringIO(text))
    try:
        header = [_header(h) for h in next(reader)]
    except StopIteration:
        return [], [{"row": 0, "field": "file", "message": "The file is empty."}]
    except csv.Error as exc:
        return [], [{"row": 1, "field": "file", "message": f"The file is not valid CSV: {exc}."}]
    if "full_name" not in header and not {"first_name", "last_name"} & set(header):
        return [], [
            {"row": 1, "field": "header", "message": "The header needs first_name/last_name (or full_name)."}
        ]
    unknown = [h for h in header if h and h not in FIELDS and h != "full_name"]
    rows = []
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            problem = _unstorable(values)
            rows.append({ROW_PROBLEM: problem} if problem else _row(header, values))
            if len(rows) > MAX_ROWS:
                return [], [{"row": 0, "field": "file", "message": f"At most {MAX_ROWS:,} rows per file."}]
    except csv.Error as exc:
        return [], [
            {"row": reader.line_num, "field": "file", "message": f"The file is not valid CSV: {exc}."}
        ]
    problems = [{"row": 1, "field": h, "message": "Unknown column (ignored)."} for h in unknown]
    return rows, problems


def _row(header: list[str], values: list[str]) -> dict:
    row = {h: v for h, v in zip(header, values, strict=False) if h in FIELDS or h == "full_name"}
    if "full_name" in row:
        first, _, last = row.pop("full_name").strip().partition(" ")
        row.setdefault("first_name", first)
        row.setdefault("last_name", last)
    return row
