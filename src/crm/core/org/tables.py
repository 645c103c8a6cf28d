"""Legal entities, teams, staff users, roles and the scoped assignments that give users permissions."""

from enum import StrEnum

from piccolo.columns import (
    Array,
    BigInt,
    Boolean,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from crm.core.labels import LABELS


class LegalEntity(Table, tablename="legal_entity"):
    """A licensed company of the group; clients, money, cases and permissions each belong to one."""

    code = Varchar(length=20, unique=True)
    name = Varchar(length=200)
    regulator = Varchar(length=40)
    jurisdiction = Varchar(length=2)  # ISO 3166-1 alpha-2
    base_currency = Varchar(length=3)  # ISO 4217
    time_zone = Varchar(length=64, default="UTC")  # IANA; the default for its staff's screens
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class StaffUser(Table, tablename="staff_user"):
    """A person in the back office. Credentials live here; sessions and recovery codes in `identity`."""

    email = Varchar(length=254, unique=True)
    full_name = Varchar(length=200)
    home_entity = ForeignKey(LegalEntity, null=True)
    password_hash = Varchar(length=200, null=True, default=None)
    must_change_password = Boolean(default=False)
    totp_secret = Varchar(length=64, null=True, default=None)
    totp_last_step = BigInt(null=True, default=None)  # the time step of the last TOTP code used (no replay)
    mfa_enrolled_at = Timestamptz(null=True, default=None)
    failed_attempts = Integer(default=0)
    locked_until = Timestamptz(null=True, default=None)
    sso_subject = Varchar(length=255, null=True, default=None, unique=True)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    deactivated_at = Timestamptz(null=True, default=None)
    last_signin_at = Timestamptz(null=True, default=None)
    time_zone = Varchar(length=64, null=True, default=None)  # IANA; None: the home entity's


class TeamKind(StrEnum):
    SALES = "sales"
    RETENTION = "retention"
    COMPLIANCE = "compliance"
    PAYMENTS = "payments"
    DEALING = "dealing"
    SUPPORT = "support"
    RISK = "risk"
    PARTNERS = "partners"
    ADMIN = "admin"


class Team(Table, tablename="team"):
    """A desk of staff inside one entity; queues belong to teams."""

    entity = ForeignKey(LegalEntity)
    name = Varchar(length=120)
    kind = Varchar(length=20, choices=TeamKind)
    region = Varchar(length=60, default="")
    languages = Array(Varchar(length=8), default=list)
    lead = ForeignKey(StaffUser, null=True)
    chat_webhook_url = Varchar(length=500, default="")  # Slack-format incoming webhook for the team's channel
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())


class Role(Table, tablename="role"):
    """A named permission set. Privileged roles need a second admin's approval to be granted."""

    slug = Varchar(length=60, unique=True)
    name = Varchar(length=120)
    description = Text(default="")
    permissions = Array(Varchar(length=80), default=list)
    privileged = Boolean(default=False)
    system = Boolean(default=False)
    updated_at = Timestamptz(default=TimestamptzNow())


class AssignmentStatus(StrEnum):
    PENDING = "pending"  # waiting for a second admin (privileged roles)
    ACTIVE = "active"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"


class RoleAssignment(Table, tablename="role_assignment"):
    """User x role x entity (x team) x validity window: the only source of a staff user's permissions."""

    user = ForeignKey(StaffUser)
    role = ForeignKey(Role)
    entity = ForeignKey(LegalEntity)
    team = ForeignKey(Team, null=True)
    valid_from = Timestamptz(default=TimestamptzNow())
    valid_until = Timestamptz(null=True, default=None)
    status = Varchar(length=20, choices=AssignmentStatus, index=True)
    requested_by = ForeignKey(StaffUser, null=True)
    reason = Text(default="")
    approval_request_id = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    ended_at = Timestamptz(null=True, default=None)


LABELS.add(
    "team_kind",
    {
        TeamKind.SALES: "Sales",
        TeamKind.RETENTION: "Retention",
        TeamKind.COMPLIANCE: "Compliance",
        TeamKind.PAYMENTS: "Payments",
        TeamKind.DEALING: "Dealing",
        TeamKind.SUPPORT: "Support",
        TeamKind.RISK: "Risk",
        TeamKind.PARTNERS: "Partners",
        TeamKind.ADMIN: "Administration",
    },
)
LABELS.add(
    "assignment_status",
    {
        AssignmentStatus.PENDING: "Pending approval",
        AssignmentStatus.ACTIVE: "Active",
        AssignmentStatus.REJECTED: "Rejected",
        AssignmentStatus.REVOKED: "Revoked",
        AssignmentStatus.EXPIRED: "Expired",
    },
    {
        AssignmentStatus.PENDING: "warn",
        AssignmentStatus.ACTIVE: "ok",
        AssignmentStatus.REJECTED: "danger",
        AssignmentStatus.REVOKED: "neutral",
        AssignmentStatus.EXPIRED: "neutral",
    },
)
