"""The world fixture: EU records and users, for the permission matrix and the hostile-input walk."""

from tests.portals.routes import world  # noqa: F401
