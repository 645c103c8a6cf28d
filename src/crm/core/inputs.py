"""Reading untrusted input at the boundary, once, for every portal and webhook: a value that cannot be held is
refused here with a reason (a 4xx), never passed on to fail later as a 500.

Text: valid UTF-8, no NUL (PostgreSQL text cannot hold it), bounded length. Numbers: ASCII digits within
the range of the column that holds them (PostgreSQL `integer`). Dates: within what can be computed on.
JSON: UTF-8, bounded nesting, no NUL in any string or key, no non-finite numbers. `crm.core.boundary` applies
these to every request's query, path and form values before its handler runs."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any

from crm.core.errors import ValidationFailed

MAX_JSON_DEPTH = 32
INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # PostgreSQL integer: every id, count and priority column
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(9998, 12, 31)  # room to add a day or a time zone
_INTEGER = re.compile(r"-?[0-9]{1,19}")  # ASCII digits only: int() would also take "²" or "٣"


class BadInput(ValidationFailed):
    """A request value that cannot be read at all (not merely a wrong choice): answered 400."""

    status_code = 400


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def json_value(body: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse a JSON body, or raise BadInput saying what is wrong with it."""
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise BadInput("The body is not UTF-8 text.") from None
    except RecursionError:
        raise BadInput(f"The JSON is nested more than {max_depth} levels deep.") from None
    except ValueError as exc:
        raise BadInput(f"The body is not JSON: {exc}.") from None
    problem = _json_problem(value, max_depth)
    if problem:
        raise BadInput(problem)
    return value


def _json_problem(value: Any, max_depth: int) -> str | None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            return f"The JSON is nested more than {max_depth} levels deep."
        if isinstance(item, str) and "\x00" in item:
            return "A text value contains a NUL character (\\u0000)."
        if isinstance(item, float) and not math.isfinite(item):
            return "A number is too large."
        if isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    return "A key contains a NUL character (\\u0000)."
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return None


def parse_int(value: Any) -> int | None:
    """A whole number written in ASCII digits and within an integer column's range, else None (the caller
    treats it as missing, or says what it expected)."""
    text = str(value).strip() if value is not None else ""
    if not _INTEGER.fullmatch(text):
        return None
    number = int(text)
    return number if INT_MIN <= number <= INT_MAX else None


def in_int_range(number: int) -> bool:
    return INT_MIN <= number <= INT_MAX


def parse_date(value: Any) -> dt.date | None:
    """An ISO date (YYYY-MM-DD) between 1900 and 9998, else None."""
    try:
        day = dt.date.fromisoformat(str(value).strip())
    except ValueError:
        return None
    return day if EARLIEST <= day <= LATEST else None


def text_problem(value: str, *, max_length: int) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    if "\x00" in value:
        return "contains a NUL character (\\u0000)"
    if len(value) > max_length:
        return f"is longer than {max_length:,} characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8 text"
    return None
