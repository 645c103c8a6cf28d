"""The staff menu; each screen module adds its own items (with the permission that shows them) at import."""

from crm.core.context import Actor
from crm.core.navigation import Navigation
from crm.core.permissions import Permission
from crm.leads.queries import lead_openable

STAFF_NAV = Navigation(sections=("Work", "Sales desk", "Compliance", "Oversight", "Admin"))

# Where a case's subject opens on the staff portal, by subject type (format fields: subject_id, label).
SUBJECT_URLS = {
    "lead": "/leads/{label}",
    "client": "/clients/{subject_id}",
    "screening": "/kyc/screening/{subject_id}",
}


async def subject_url(actor: Actor, subject: dict, entity_id: int | None) -> str | None:
    """A link to a case's subject when the viewer may open it, else None (shown as text)."""
    kind = subject.get("subject_type", "")
    pattern = SUBJECT_URLS.get(kind)
    if pattern is None:
        return None
    try:
        subject_id = int(subject.get("subject_id") or 0)
    except ValueError:
        return None
    if kind == "lead" and not await lead_openable(actor, subject_id):
        return None
    if kind == "client" and not actor.can(Permission.CLIENTS_CLIENT_VIEW, entity_id):
        return None
    if kind == "screening" and not actor.can(Permission.KYC_REVIEW_VIEW, entity_id):
        return None
    return pattern.format(subject_id=subject_id, label=subject.get("label") or "")


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
