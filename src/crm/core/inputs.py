"""Reading untrusted input at the boundary, once, for every portal and webhook: a value that cannot be held is
refused here with a reason (a 4xx), never passed on to fail later as a 500.

Text: valid UTF-8, no NUL (PostgreSQL text cannot hold it), bounded length. JSON: UTF-8, bounded nesting, no
NUL in any string or key, no non-finite numbers."""

from __future__ import annotations

import json
import math
from typing import Any

from crm.core.errors import ValidationFailed

MAX_JSON_DEPTH = 32


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
