"""Case kinds are registered by the areas that open them (KYC review, withdrawal approval, alert ...)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from crm.core.errors import ValidationFailed
from crm.core.labels import LABELS


@dataclass(frozen=True)
class CaseKind:
    """How a kind of case starts: its label, default priority, SLA, and the kind of team whose queue gets it.

    `notify_assignee=False` when the area sends its own, better-worded notification on assignment.
    `on_breach(actor, case)` replaces the default SLA escalation (to the team lead, once): it runs in the
    escalation cron's transaction and must move the case's SLA or set its `escalated_at`.
    """

    name: str
    label: str
    default_priority: int = 3
    sla: dt.timedelta = dt.timedelta(hours=24)
    queue_team_kind: str | None = None
    notify_assignee: bool = True
    on_breach: Callable[..., Awaitable[None]] | None = None


_KINDS: dict[str, CaseKind] = {}


def register_case_kind(kind: CaseKind) -> CaseKind:
    _KINDS[kind.name] = kind
    LABELS.add("case_kind", {kind.name: kind.label})
    return kind


def case_kind(name: str) -> CaseKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise ValidationFailed(
            f"Unknown case kind {name!r}", field_errors={"kind": "Choose a kind of case."}
        ) from None


def find_case_kind(name: str) -> CaseKind | None:
    return _KINDS.get(name)


def case_kinds() -> list[CaseKind]:
    return sorted(_KINDS.values(), key=lambda k: k.label)


GENERAL = register_case_kind(CaseKind("general", "General", 3, dt.timedelta(days=2)))
ALERT = register_case_kind(CaseKind("alert", "Alert", 2, dt.timedelta(hours=4), "compliance"))
ACCESS_REVIEW = register_case_kind(
    CaseKind("access_review", "Access review", 3, dt.timedelta(days=3), "admin")
)
