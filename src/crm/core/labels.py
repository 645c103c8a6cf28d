"""The words people see for the codes the system stores: statuses, case kinds, audit actions, permissions,
automations, regions. One registry, filled by the core and by each area at import (as menus are), read by
the templates through `label(kind, code)` and the `pill` macro.

A code with no label is shown humanised ("day_off" → "Day off") so a person never meets snake_case, and
`missing()` lets a test fail on it, so every new code arrives with its words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import Enum

TONES = ("neutral", "info", "ok", "warn", "danger")
_SYSTEM_FAMILIES = {  # "system:<family>:<name>" actors: an automation acting for a named source
    "intake": "Intake",
    "email": "Inbound mail",
    "telephony": "Telephony",
    "webhook": "Webhook",
}


def humanise(code: str) -> str:
    """ "lead_sla_breach" → "Lead sla breach": the last resort, never the intended wording."""
    words = re.sub(r"[_:\-.]+", " ", str(code)).strip()
    return words[:1].upper() + words[1:] if words else ""


class Labels:
    def __init__(self) -> None:
        self._text: dict[str, dict[str, str]] = {}
        self._tone: dict[str, dict[str, str]] = {}

    def add(self, kind: str, texts: Mapping[str, str], tones: Mapping[str, str] | None = None) -> None:
        """Register the words (and optionally the tone of a status pill) for codes of one kind."""
        for code, tone in (tones or {}).items():
            if tone not in TONES:
                raise ValueError(f"{kind}:{code}: tone {tone!r} is not one of {TONES}")
        self._text.setdefault(kind, {}).update({str(k): v for k, v in texts.items()})
        self._tone.setdefault(kind, {}).update({str(k): v for k, v in (tones or {}).items()})

    def text(self, kind: str, code: object) -> str:
        if code is None or code == "":
            return ""
        if isinstance(code, Enum):
            code = code.value
        found = self._text.get(kind, {}).get(str(code))
        if found is not None:
            return found
        if kind == "actor":
            return self.actor(str(code))
        return humanise(str(code))

    def tone(self, kind: str, code: object) -> str:
        if isinstance(code, Enum):
            code = code.value
        return self._tone.get(kind, {}).get(str(code), "neutral")

    def actor(self, label: str) -> str:
        """A stored actor label as a person reads it: staff keep their name; automations get theirs."""
        if not label.startswith("system:"):
            return label
        rest = label.removeprefix("system:")
        family, _, name = rest.partition(":")
        if name and family in _SYSTEM_FAMILIES:
            return f"{_SYSTEM_FAMILIES[family]}: {name}"
        return f"Automation: {self.text('automation', rest)}"

    def kinds(self) -> list[str]:
        return sorted(self._text)

    def codes(self, kind: str) -> dict[str, str]:
        return dict(self._text.get(kind, {}))

    def missing(self, kind: str, codes: Iterable[object]) -> list[str]:
        """The codes of `kind` that have no registered words."""
        known = self._text.get(kind, {})
        values = [c.value if isinstance(c, Enum) else str(c) for c in codes]
        return [c for c in values if c not in known]


LABELS = Labels()


def label(kind: str, code: object) -> str:
    return LABELS.text(kind, code)


# The core's own automations (crons and system actors); areas register theirs beside their tags.
LABELS.add(
    "automation",
    {
        "bench": "Benchmark",
        "demo": "Demo data",
        "dispatch_events": "Event dispatch",
        "escalate_overdue_cases": "Overdue case escalation",
        "expire_assignments": "Role expiry",
        "expire_role_assignments": "Role expiry",
        "retry_notifications": "Notification retries",
        "sweep_sessions": "Session clean-up",
    },
)
LABELS.add(
    "label_kind",
    {
        "approval_status": "Approval statuses",
        "assignment_status": "Role assignment statuses",
        "audit_action": "Audit actions",
        "automation": "Automations",
        "approval_kind": "Kinds of approval",
        "case_event": "Case timeline entries",
        "case_kind": "Case kinds",
        "case_resolution": "Case resolutions",
        "case_status": "Case statuses",
        "client_status": "Client statuses",
        "delivery_status": "Delivery statuses",
        "inbox_status": "Webhook event statuses",
        "label_kind": "Kinds of words",
        "lead_event": "Lead timeline entries",
        "lead_status": "Lead statuses",
        "notice_status": "Privacy notice statuses",
        "screening_status": "Where a client stands in screening",
        "match_status": "Screening match decisions",
        "document_status": "KYC document statuses",
        "rule_kind": "Kinds of rules",
        "record_type": "Kinds of record",
        "rule_set_status": "Rule set statuses",
        "region": "Regions",
        "presence": "Presence",
        "role": "Seeded roles",
        "permission": "Permissions",
        "permission_area": "Permission areas",
        "team_kind": "Team kinds",
    },
)
LABELS.add(
    "record_type",
    {
        "approval_policy": "Approval policy",
        "audit_export": "Audit export",
        "brand": "Brand",
        "case": "Case",
        "case_list": "Case list",
        "client": "Client",
        "dead_job": "Failed job",
        "event_delivery": "Event delivery",
        "lead": "Lead",
        "lead_entity_rule": "Entity rules",
        "lead_import": "Lead import",
        "lead_list": "Lead list",
        "lead_pool": "Pool",
        "lead_rule_set": "Rule set",
        "lead_source": "Intake source",
        "legal_entity": "Legal entity",
        "notification_template": "Notification template",
        "privacy_notice": "Privacy notice",
        "role": "Role",
        "role_assignment": "Role assignment",
        "staff_session": "Session",
        "staff_user": "Staff user",
        "stored_file": "File",
        "team": "Team",
        "watchlist": "Watchlist",
        "webhook_event": "Webhook event",
    },
)
