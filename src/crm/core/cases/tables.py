"""Cases: the unit of staff work, its subjects (client, lead, user, partner ...) and its timeline."""

from enum import StrEnum

from piccolo.columns import JSONB, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from crm.core.labels import LABELS


class CaseStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = (CaseStatus.OPEN, CaseStatus.IN_PROGRESS, CaseStatus.WAITING)

PRIORITIES = {1: "critical", 2: "high", 3: "normal", 4: "low"}

RESOLUTIONS = ("approved", "rejected", "false_positive", "risk_confirmed", "no_action", "duplicate", "done")


class WorkCase(Table, tablename="work_case"):
    """One piece of work. Entity, queue (team) and people are plain ids: the core depends on no area."""

    reference = Varchar(length=20, null=True, default=None, unique=True)  # CASE-000123, from the id
    kind = Varchar(length=60, index=True)
    title = Varchar(length=300)
    entity_id = Integer(index=True)
    priority = Integer(default=3)
    status = Varchar(length=20, choices=CaseStatus, default=CaseStatus.OPEN, index=True)
    resolution = Varchar(length=40, default="")
    queue_id = Integer(null=True, default=None, index=True)
    assignee_id = Integer(null=True, default=None, index=True)
    sla_due_at = Timestamptz(null=True, default=None)
    escalated_at = Timestamptz(null=True, default=None)
    created_by_id = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    resolved_at = Timestamptz(null=True, default=None)


class CaseSubject(Table, tablename="case_subject"):
    """What a case is about: (subject_type, subject_id), e.g. ("client", "42")."""

    case = ForeignKey(WorkCase, index=True)
    subject_type = Varchar(length=40)
    subject_id = Varchar(length=64)
    label = Varchar(length=200, default="")


class CaseEntry(Table, tablename="case_entry"):
    """The case timeline: notes, status changes, assignments, decisions, escalations, attachments."""

    case = ForeignKey(WorkCase, index=True)
    kind = Varchar(length=20)
    author_id = Integer(null=True, default=None)
    author_label = Varchar(length=200)
    body = Text(default="")
    data = JSONB(default="{}")
    created_at = Timestamptz(default=TimestamptzNow())


LABELS.add(
    "case_status",
    {
        CaseStatus.OPEN: "Open",
        CaseStatus.IN_PROGRESS: "In progress",
        CaseStatus.WAITING: "Waiting",
        CaseStatus.RESOLVED: "Resolved",
        CaseStatus.CLOSED: "Closed",
    },
    {
        CaseStatus.OPEN: "info",
        CaseStatus.IN_PROGRESS: "warn",
        CaseStatus.WAITING: "neutral",
        CaseStatus.RESOLVED: "ok",
        CaseStatus.CLOSED: "neutral",
    },
)
LABELS.add(
    "case_resolution",
    {
        "approved": "Approved",
        "rejected": "Rejected",
        "false_positive": "False positive",
        "risk_confirmed": "Risk confirmed",
        "no_action": "No action needed",
        "duplicate": "Duplicate",
        "done": "Done",
    },
)
LABELS.add(
    "case_event",
    {
        "opened": "Opened",
        "assignment": "Assignment",
        "note": "Note",
        "attachment": "Attachment",
        "decision": "Decision",
        "status": "Status",
        "escalation": "Escalation",
    },
)
