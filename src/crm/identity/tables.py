"""Server-side staff sessions, MFA recovery codes, each person's saved list views, and the client portal's own
accounts, sessions and e-mailed links."""

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from crm.clients.tables import Client
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


class ClientAccount(Table, tablename="client_account"):
    """A client's sign-in to the client portal: its own realm, apart from staff accounts."""

    client = ForeignKey(Client, unique=True)
    email = Varchar(length=254, unique=True)  # lower-cased
    password_hash = Varchar(length=200)
    language = Varchar(length=8, default="en")
    email_verified_at = Timestamptz(null=True, default=None)
    failed_logins = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    totp_secret = Varchar(length=64, null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    last_login_at = Timestamptz(null=True, default=None)


class ClientSession(Table, tablename="client_session"):
    """One signed-in browser on the client portal (the cookie holds a random token; its SHA-256 is kept)."""

    token_hash = Varchar(length=64, unique=True)
    account = ForeignKey(ClientAccount, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    ip = Varchar(length=64, null=True, default=None)
    user_agent = Varchar(length=1000, null=True, default=None)
    ended_at = Timestamptz(null=True, default=None)
    end_reason = Varchar(length=40, null=True, default=None)


class ClientToken(Table, tablename="client_token"):
    """A single-use link sent by e-mail (verify the address, reset the password), valid until `expires_at`."""

    account = ForeignKey(ClientAccount, index=True)
    purpose = Varchar(length=20)  # verify | reset
    token_hash = Varchar(length=64, unique=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
