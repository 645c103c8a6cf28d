"""The staff menu; each screen module adds its own items (with the permission that shows them) at import."""

from crm.core.context import Actor
from crm.core.navigation import Navigation
from crm.core.permissions import Permission

STAFF_NAV = Navigation(sections=("Work", "Sales desk", "Oversight", "Admin"))

# Where a case's subject opens on the staff portal, by subject type (format fields: subject_id, label).
SUBJECT_URLS = {"lead": "/leads/{label}", "client": "/clients/{subject_id}"}


def subject_url(subject: dict) -> str | None:
    pattern = SUBJECT_URLS.get(subject.get("subject_type", ""))
    if pattern is None:
        return None
    return pattern.format(subject_id=subject.get("subject_id", ""), label=subject.get("label") or "")


# Where an audited record opens, and the permission that opens it (held in the row's entity).
RECORD_URLS = {
    "lead": ("/leads/{id}", Permission.LEADS_TEAM_VIEW),
    "client": ("/clients/{id}", Permission.CLIENTS_CLIENT_VIEW),
    "case": ("/cases/{id}", Permission.CASES_CASE_VIEW),
    "staff_user": ("/admin/users/{id}", Permission.ACCESS_USER_VIEW),
    "role": ("/admin/roles/{id}", Permission.ACCESS_ROLE_MANAGE),
    "lead_import": ("/leads/imports/{id}", Permission.LEADS_ROUTING_MANAGE),
}


def record_url(actor: Actor, record_type: str, record_id, entity_id: int | None) -> str | None:
    """A link to the record when the viewer may open it, else None (shown as text, never a link to a 403)."""
    known = RECORD_URLS.get(record_type or "")
    if known is None or record_id in (None, ""):
        return None
    pattern, permission = known
    if not actor.can(permission, entity_id):
        return None
    return pattern.format(id=record_id)
