"""The staff navigation, each item shown only to actors holding its permission."""

from __future__ import annotations

from dataclasses import dataclass

from crm.core.context import Actor
from crm.core.permissions import Permission


@dataclass(frozen=True)
class NavItem:
    section: str
    label: str
    url: str
    permission: Permission | None


STAFF_NAV: tuple[NavItem, ...] = (
    NavItem("Work", "Home", "/", None),
    NavItem("Work", "Clients", "/clients", Permission.CLIENTS_CLIENT_VIEW),
    NavItem("Work", "Approvals", "/approvals", None),
    NavItem("Oversight", "Audit trail", "/audit", Permission.AUDIT_RECORD_VIEW),
    NavItem("Admin", "Staff users", "/admin/users", Permission.ACCESS_USER_VIEW),
    NavItem("Admin", "Roles", "/admin/roles", Permission.ACCESS_ROLE_MANAGE),
    NavItem("Admin", "Entities & teams", "/admin/entities", Permission.ACCESS_ENTITY_MANAGE),
)


def navigation_for(actor: Actor) -> list[tuple[str, list[NavItem]]]:
    """Sections with the items this actor may open, in menu order (empty sections dropped)."""
    sections: dict[str, list[NavItem]] = {}
    for item in STAFF_NAV:
        if item.permission is None or actor.can(item.permission):
            sections.setdefault(item.section, []).append(item)
    return list(sections.items())
