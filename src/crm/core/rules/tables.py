"""Versions of an entity's rules of one kind (KYC requirements, risk scoring ...): the document, who wrote and
who approved it, when it was in force."""

from enum import StrEnum

from piccolo.columns import JSONB, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class RuleStatus(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    PUBLISHED = "published"
    RETIRED = "retired"


class RuleVersion(Table, tablename="rule_version"):
    kind = Varchar(length=60)
    entity_id = Integer()
    version = Integer()
    status = Varchar(length=20, choices=RuleStatus, default=RuleStatus.DRAFT)
    document = JSONB(default="{}")
    note = Text(default="")
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    approved_by = Integer(null=True, default=None)
    approval_request_id = Integer(null=True, default=None)
    published_at = Timestamptz(null=True, default=None)
    retired_at = Timestamptz(null=True, default=None)
