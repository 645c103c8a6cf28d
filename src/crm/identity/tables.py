"""Server-side staff sessions, MFA recovery codes, and each person's saved list views."""

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from crm.core.org.tables import StaffUser


class StaffSession(Table, tablename="staff_session"):
    """One signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    token_hash = Varchar(length=64, unique=True)
    user = ForeignKey(StaffUser, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    mfa_verified = Boolean(default=False)
    via_sso = Boolean(default=False)
    focus_entity_id = Integer(null=True, default=None)
    ip = Varchar(length=64, null=True, default=None)
    user_agent = Varchar(length=1000, null=True, default=None)
    ended_at = Timestamptz(null=True, default=None, index=True)
    end_reason = Varchar(length=40, null=True, default=None)


class RecoveryCode(Table, tablename="recovery_code"):
    """A one-time MFA recovery code (stored as SHA-256; the codes are random and shown once)."""

    user = ForeignKey(StaffUser, index=True)
    code_hash = Varchar(length=64)
    used_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())


class SavedView(Table, tablename="saved_view"):
    """A list's filter and order, saved under a name by one person (their own shortcut, not shared)."""

    user = ForeignKey(StaffUser, index=True)
    list_key = Varchar(length=40)  # leads.all, leads.unassigned, cases.all
    name = Varchar(length=60)
    query = Text()  # the list's query string (filter and sort; never a page cursor)
    created_at = Timestamptz(default=TimestamptzNow())
