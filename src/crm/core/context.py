"""Who is acting, from where, and with which permissions in which legal entities."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from crm.core.errors import PermissionDenied
from crm.core.permissions import Permission


@dataclass(frozen=True)
class RequestMeta:
    """Where an action came from; copied into every audit row."""

    ip: str | None = None
    user_agent: str | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    session_id: str | None = None


@dataclass(frozen=True)
class Actor:
    """A staff user (or the system) with their permissions per legal entity.

    `grants` maps entity id to the permissions the actor holds there; `focus_entity_id` is the entity chosen
    in the entity switcher, which narrows every scoped read without widening anything.
    """

    user_id: int | None
    label: str
    grants: Mapping[int, frozenset[str]] = field(default_factory=dict)
    meta: RequestMeta = field(default_factory=RequestMeta)
    focus_entity_id: int | None = None
    on_behalf_of_id: int | None = None
    on_behalf_of_label: str | None = None
    is_system: bool = False

    @classmethod
    def system(cls, job: str, meta: RequestMeta | None = None) -> Actor:
        """The actor for jobs and automations; it is not subject to permission checks."""
        return cls(user_id=None, label=f"system:{job}", meta=meta or RequestMeta(), is_system=True)

    def with_meta(self, meta: RequestMeta) -> Actor:
        return replace(self, meta=meta)

    def _visible_entities(self) -> Iterable[int]:
        if self.focus_entity_id is not None and self.focus_entity_id in self.grants:
            return (self.focus_entity_id,)
        return self.grants.keys()

    def can(self, permission: Permission | str, entity_id: int | None = None) -> bool:
        """True if the actor holds `permission` in `entity_id` (or in any entity when None)."""
        if self.is_system:
            return True
        if entity_id is not None:
            return permission in self.grants.get(entity_id, frozenset())
        return any(permission in perms for perms in self.grants.values())

    def require(self, permission: Permission | str, entity_id: int | None = None) -> None:
        if not self.can(permission, entity_id):
            raise PermissionDenied()

    def entities_with(self, permission: Permission | str) -> list[int]:
        """Entity ids where the actor holds `permission`, narrowed by the entity switcher."""
        return sorted(e for e in self._visible_entities() if permission in self.grants.get(e, frozenset()))

    @property
    def entity_ids(self) -> list[int]:
        return sorted(self.grants.keys())

    @property
    def permissions(self) -> frozenset[str]:
        merged: set[str] = set()
        for perms in self.grants.values():
            merged |= perms
        return frozenset(merged)
