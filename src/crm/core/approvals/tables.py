"""Maker-checker: a request binds an action kind, its target and a hash of its exact payload."""

from enum import StrEnum

from piccolo.columns import JSONB, Array, Boolean, ForeignKey, Integer, Numeric, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from crm.core.labels import LABELS


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"  # policy satisfied and the action has run
    REJECTED = "rejected"
    VOID = "void"  # the payload changed after it was requested, or the maker withdrew it
    EXPIRED = "expired"


class ApprovalRequest(Table, tablename="approval_request"):
    """One action waiting for checkers. Entity and users are plain ids so the core depends on no area."""

    kind = Varchar(length=60, index=True)
    entity_id = Integer(null=True, default=None, index=True)  # None: a group-wide action (e.g. a role)
    target_type = Varchar(length=50)
    target_id = Varchar(length=64)
    target_label = Varchar(length=200, default="")
    payload = JSONB()
    payload_hash = Varchar(length=64)
    maker_id = Integer()
    maker_label = Varchar(length=200)
    status = Varchar(length=20, choices=ApprovalStatus, index=True)
    required_approvals = Integer(default=1)
    approver_permission = Varchar(length=80)
    reason = Text(default="")
    case_id = Varchar(length=32, null=True, default=None)
    amount = Numeric(digits=(20, 4), null=True, default=None)  # what the policy's tiers were chosen by
    required_role = Varchar(length=60, null=True, default=None)  # one approver must hold it in the entity
    excluded_role = Varchar(length=60, null=True, default=None)  # no approver may hold it in the entity
    conflicted_ids = Array(Integer(), default=list)  # who the request benefits: they may not decide it
    policy_id = Integer(null=True, default=None)
    policy_version = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)


class ApprovalDecision(Table, tablename="approval_decision"):
    """One checker's approve or reject on a request (unique per request and checker)."""

    request = ForeignKey(ApprovalRequest, index=True)
    approver_id = Integer()
    approver_label = Varchar(length=200)
    decision = Varchar(length=10)
    reason = Text(default="")
    payload_hash = Varchar(length=64)
    created_at = Timestamptz(default=TimestamptzNow())


class ApprovalPolicy(Table, tablename="approval_policy"):
    """How many checkers an action kind needs in an entity (entity None: the default for every entity).

    `tiers` is a list of {"above": "1000", "approvals": 2, "require_role": "compliance_officer",
    "exclude_role": "sales_agent"}: the tier with the highest `above` below the request's amount applies
    (amount-less requests use the lowest tier); no approver may hold the excluded role in the entity.
    """

    kind = Varchar(length=60)
    entity_id = Integer(null=True, default=None)
    tiers = JSONB(default="[]")
    expiry_hours = Integer(default=168)
    version = Integer(default=1)
    active = Boolean(default=True)
    updated_at = Timestamptz(default=TimestamptzNow())


LABELS.add(
    "approval_status",
    {
        ApprovalStatus.PENDING: "Pending",
        ApprovalStatus.APPROVED: "Approved",
        ApprovalStatus.REJECTED: "Rejected",
        ApprovalStatus.VOID: "Withdrawn",
        ApprovalStatus.EXPIRED: "Expired",
    },
    {
        ApprovalStatus.PENDING: "warn",
        ApprovalStatus.APPROVED: "ok",
        ApprovalStatus.REJECTED: "danger",
        ApprovalStatus.VOID: "neutral",
        ApprovalStatus.EXPIRED: "neutral",
    },
)
