"""Route guards. Staff routers apply `signed_in`; each handler adds `requires(Permission.X)`."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from crm.core.context import Actor
from crm.core.errors import DomainError, NotAuthenticated, PermissionDenied
from crm.core.permissions import Permission


class PasswordChangeRequired(DomainError):
    """An admin reset the password: the user must choose a new one before doing anything else."""

    status_code = 403


def current_actor(connection: ASGIConnection) -> Actor:
    actor = connection.scope.get("state", {}).get("actor")
    if actor is None:
        raise NotAuthenticated()
    return actor


def signed_in(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """A fully signed-in staff user (password and MFA), who has no pending forced password change."""
    current_actor(connection)
    session = connection.scope["state"]["session"]
    if session.must_change_password and not handler.opt.get("allowed_during_password_change"):
        raise PasswordChangeRequired("Please choose a new password first")


def requires(permission: Permission):
    """A guard admitting actors who hold `permission` in at least one entity (rows are scoped further)."""

    def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        if not current_actor(connection).can(permission):
            raise PermissionDenied()

    guard.permission = permission  # read by the permission-matrix test
    guard.__name__ = f"requires_{permission.value.replace(':', '_')}"
    return guard
