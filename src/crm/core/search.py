"""What a global search box's text is: a reference, an e-mail address, a phone number or a name. Areas look
their records up by the kind (crm.leads.search, crm.clients.service.search_clients); an exact e-mail or phone
match finds a record without the field ever being shown."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

_REFERENCE = re.compile(r"[A-Z]{2,5}-[A-Z0-9-]{2,20}", re.IGNORECASE)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True)
class Query:
    kind: str  # reference, email, phone, name, none
    value: str


def classify(text: str) -> Query:
    text = " ".join(text.split())[:120]
    if len(text) < 2:
        return Query("none", "")
    if _EMAIL.fullmatch(text):
        return Query("email", text.lower())
    digits = re.sub(r"[\s().-]", "", text)
    if re.fullmatch(r"\+?\d{7,15}", digits):
        try:
            number = phonenumbers.parse(digits if digits.startswith("+") else "+" + digits, None)
            if phonenumbers.is_possible_number(number):
                return Query("phone", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
        except phonenumbers.NumberParseException:
            pass
        return Query("none", "")
    if _REFERENCE.fullmatch(text) and any(ch.isdigit() for ch in text):
        return Query("reference", text.upper())
    return Query("name", text.lower())


def prefix_range(text: str) -> tuple[str, str]:
    """[lo, hi) of every string starting with `text`, for an index range scan (a LIKE with a parameter is not
    one under generic plans)."""
    return text, text[:-1] + chr(ord(text[-1]) + 1)


def name_branches(first: str, last: str, value: str, first_param: int) -> tuple[list[tuple[str, str]], list]:
    """Ways a name can start with `value` (the last name, the first name, or "first last"), each as (the
    column to walk in index order, its condition), over lower-cased columns indexed with text_pattern_ops,
    and the arguments numbered from `first_param`. Walking each branch in index order and stopping at the
    page's end keeps a common prefix ("Mar") as fast as a rare one."""
    args: list = []

    def starts(column: str, text: str) -> str:
        lo, hi = prefix_range(text)
        args.extend([lo, hi])
        n = first_param + len(args)
        return f"lower({column}) ~>=~ ${n - 2} AND lower({column}) ~<~ ${n - 1}"

    branches = [(last, starts(last, value)), (first, starts(first, value))]
    given, _, family = value.partition(" ")
    if family:
        branches.append((last, f"{starts(first, given)} AND {starts(last, family)}"))
    return branches, args


def branch_union(select: str, scope: str, branches: list[tuple[str, str]], limit: int) -> str:
    """`select ... WHERE scope AND branch` for each branch, walked in its index's order with a limit, as one
    UNION (duplicates across branches removed)."""
    parts = [
        f"({select} WHERE {scope} AND {condition} ORDER BY lower({column}) USING ~<~ LIMIT {int(limit)})"
        for column, condition in branches
    ]
    return " UNION ".join(parts)
