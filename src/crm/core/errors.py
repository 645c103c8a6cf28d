"""Domain errors raised by services; `crm.app` maps each to a 4xx page or fragment. Never HTTP errors here."""


class DomainError(Exception):
    """Base of every error a user can cause; `message` is shown to them."""

    status_code = 400

    def __init__(self, message: str, *, field_errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class ValidationFailed(DomainError):
    """Input that cannot be accepted; `field_errors` names the fields."""

    status_code = 422


class NotFound(DomainError):
    """The record does not exist or is outside the actor's scope (the two are never told apart)."""

    status_code = 404

    def __init__(self, what: str = "Record"):
        super().__init__(f"{what} not found")


class PermissionDenied(DomainError):
    """The actor is signed in but lacks the permission."""

    status_code = 403

    def __init__(self, message: str = "You do not have permission to do that"):
        super().__init__(message)


class NotAuthenticated(DomainError):
    """No valid staff session: the user must sign in."""

    status_code = 401

    def __init__(self, message: str = "Please sign in"):
        super().__init__(message)


class Conflict(DomainError):
    """The action clashes with the record's current state (already decided, duplicate, stale)."""

    status_code = 409


class SegregationOfDuties(PermissionDenied):
    """A maker tried to check their own request, or the same person tried to approve twice."""
