"""How likely two leads are the same person: one indexed lookup per kind of evidence the lead has (an empty
e-mail or a missing birth date adds no branch, so every branch is an index scan on a selective key, whatever
the table's size), and the evidence combined into a score. Pure SQL building; duplicates.py and intake use
it."""

from __future__ import annotations

import datetime as dt

DUPLICATE_WEIGHTS = {"email": 0.6, "phone": 0.5, "name_dob": 0.4, "device": 0.3}
_BRANCHES = {
    "email": "SELECT id, 'email' AS reason FROM lead WHERE email_key = {0} AND id <> {x} "
    "AND merged_into_id IS NULL",
    "phone": "SELECT id, 'phone' AS reason FROM lead WHERE phone = {0} AND id <> {x} "
    "AND merged_into_id IS NULL",
    "name_dob": "SELECT id, 'name_dob' AS reason FROM lead WHERE lower(last_name) = {0} "
    "AND date_of_birth = {1} AND id <> {x} AND merged_into_id IS NULL",
    "device": "SELECT id, 'device' AS reason FROM lead WHERE device_id = {0} AND id <> {x} "
    "AND merged_into_id IS NULL",
}
MAX_FOUND = 20


def duplicate_score(reasons: list[str]) -> float:
    """Independent evidence combined: 1 − Π(1 − weight)."""
    remaining = 1.0
    for reason in reasons:
        remaining *= 1 - DUPLICATE_WEIGHTS[reason]
    return round(1 - remaining, 3)


def score_sql(weight: str) -> str:
    """`duplicate_score` as an SQL aggregate over a column of weights (CSV imports score pairs in one
    statement)."""
    return f"round((1 - exp(sum(ln(1 - {weight}))))::numeric, 3)"


def duplicates_sql(
    email_key: str,
    phone: str,
    last_name: str,
    date_of_birth: dt.date | None,
    device_id: str,
    lead_id: int | None,
    *,
    first_param: int = 1,
) -> tuple[str, list]:
    """A query listing (id, reasons) of up to 20 likely duplicates, newest first, with its arguments numbered
    from `first_param`; ("", []) when the lead has no evidence to compare."""
    evidence = {
        "email": [email_key],
        "phone": [phone],
        "name_dob": [(last_name or "").lower(), date_of_birth],
        "device": [device_id],
    }
    own = f"${first_param}"
    branches, args = [], [lead_id or 0]
    for kind, values in evidence.items():
        if all(values):
            placeholders = [f"${first_param + len(args) + n}" for n in range(len(values))]
            branches.append(_BRANCHES[kind].format(*placeholders, x=own))
            args += values
    if not branches:
        return "", []
    return (
        f"SELECT id, array_agg(reason) AS reasons FROM ({' UNION ALL '.join(branches)}) e "  # noqa: S608
        f"GROUP BY id ORDER BY id DESC LIMIT {MAX_FOUND}"
    ), args


def scored_duplicate(other_id: int, found_reasons: list[str]) -> dict:
    reasons = [r for r in DUPLICATE_WEIGHTS if r in found_reasons]
    return {"other_id": other_id, "reasons": reasons, "score": duplicate_score(reasons)}
