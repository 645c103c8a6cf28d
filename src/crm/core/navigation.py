"""Menus as a mechanism: each portal keeps one `Navigation`, its screen modules add the items they serve with
the permission that shows them, and a portal's router names its menu in `opt={"navigation": ...}` for
`render`."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm.core.context import Actor
from crm.core.permissions import Permission


@dataclass(frozen=True)
class NavItem:
    section: str
    label: str
    url: str
    permission: Permission | None
    order: int = 100


@dataclass
class Navigation:
    """A portal's menu: sections in the given order, items by their `order` within a section."""

    sections: tuple[str, ...]
    items: list[NavItem] = field(default_factory=list)

    def add(
        self, section: str, label: str, url: str, permission: Permission | None = None, *, order: int = 100
    ) -> None:
        """Show `label` at `url` to actors holding `permission` in some entity (None: everyone signed in)."""
        if section not in self.sections:
            raise ValueError(f"unknown menu section {section!r}")
        if any(i.url == url for i in self.items):  # a module imported twice adds nothing
            return
        self.items.append(NavItem(section, label, url, permission, order))

    def for_actor(self, actor: Actor) -> list[tuple[str, list[NavItem]]]:
        """Sections with the items this actor may open, in menu order (empty sections dropped)."""
        visible = [i for i in self.items if i.permission is None or actor.can(i.permission)]
        ordered = sorted(visible, key=lambda i: (self.sections.index(i.section), i.order))
        sections: dict[str, list[NavItem]] = {}
        for item in ordered:
            sections.setdefault(item.section, []).append(item)
        return list(sections.items())


def current_url(nav: list[tuple[str, list[NavItem]]], path: str) -> str | None:
    """The menu item a page belongs to: the longest item URL that prefixes the path."""
    urls = [
        i.url
        for _, items in nav
        for i in items
        if path == i.url or (i.url != "/" and path.startswith(i.url + "/"))
    ]
    return max(urls, key=len, default=None)
