"""The staff menu; each screen module adds its own items (with the permission that shows them) at import."""

from crm.core.navigation import Navigation

STAFF_NAV = Navigation(sections=("Work", "Sales desk", "Oversight", "Admin"))

# Where a case's subject opens on the staff portal, by subject type (format fields: subject_id, label).
SUBJECT_URLS = {"lead": "/leads/{label}", "client": "/clients/{subject_id}"}


def subject_url(subject: dict) -> str | None:
    pattern = SUBJECT_URLS.get(subject.get("subject_type", ""))
    if pattern is None:
        return None
    return pattern.format(subject_id=subject.get("subject_id", ""), label=subject.get("label") or "")
