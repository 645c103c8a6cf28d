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
    NavItem("Work", "My leads", "/leads", Permission.LEADS_LEAD_VIEW),
    NavItem("Work", "My cases", "/cases", Permission.CASES_CASE_VIEW),
    NavItem("Work", "All cases", "/cases/all", Permission.CASES_CASE_VIEW),
    NavItem("Work", "Clients", "/clients", Permission.CLIENTS_CLIENT_VIEW),
    NavItem("Work", "Approvals", "/approvals", None),
    NavItem("Sales desk", "All leads", "/leads/all", Permission.LEADS_TEAM_VIEW),
    NavItem("Sales desk", "Unassigned leads", "/leads/unassigned", Permission.LEADS_TEAM_VIEW),
    NavItem("Sales desk", "Desk dashboard", "/leads/dashboard", Permission.LEADS_TEAM_VIEW),
    NavItem("Sales desk", "Routing & scoring", "/leads/routing", Permission.LEADS_ROUTING_MANAGE),
    NavItem("Sales desk", "Pools & shifts", "/leads/pools", Permission.LEADS_ROUTING_MANAGE),
    NavItem("Sales desk", "Intake sources", "/leads/sources", Permission.LEADS_ROUTING_MANAGE),
    NavItem("Sales desk", "Lead imports", "/leads/imports", Permission.LEADS_ROUTING_MANAGE),
    NavItem("Oversight", "Audit trail", "/audit", Permission.AUDIT_RECORD_VIEW),
    NavItem("Admin", "Staff users", "/admin/users", Permission.ACCESS_USER_VIEW),
    NavItem("Admin", "Roles", "/admin/roles", Permission.ACCESS_ROLE_MANAGE),
    NavItem("Admin", "Approval policies", "/admin/approval-policies", Permission.ACCESS_ROLE_MANAGE),
    NavItem("Admin", "Entities & teams", "/admin/entities", Permission.ACCESS_ENTITY_MANAGE),
    NavItem("Admin", "Automation log", "/admin/automation", Permission.SYSTEM_AUTOMATION_VIEW),
    NavItem("Admin", "Dead letters", "/admin/dead-letters", Permission.SYSTEM_JOBS_MANAGE),
    NavItem("Admin", "Notification templates", "/admin/notification-templates", Permission.SYSTEM_TEMPLATES_MANAGE),
)


def navigation_for(actor: Actor) -> list[tuple[str, list[NavItem]]]:
    """Sections with the items this actor may open, in menu order (empty sections dropped)."""
    sections: dict[str, list[NavItem]] = {}
    for item in STAFF_NAV:
        if item.permission is None or actor.can(item.permission):
            sections.setdefault(item.section, []).append(item)
    return list(sections.items())


def current_url(nav: list[tuple[str, list[NavItem]]], path: str) -> str | None:
    """The menu item a page belongs to: the longest item URL that prefixes the path."""
    urls = [i.url for _, items in nav for i in items if path == i.url or (i.url != "/" and path.startswith(i.url + "/"))]
    return max(urls, key=len, default=None)
