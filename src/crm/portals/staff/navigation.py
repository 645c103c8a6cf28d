"""The staff menu; each screen module adds its own items (with the permission that shows them) at import."""

from crm.core.navigation import Navigation

STAFF_NAV = Navigation(sections=("Work", "Sales desk", "Oversight", "Admin"))
