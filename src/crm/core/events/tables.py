"""The transactional outbox: domain events and one delivery row per subscriber, plus automation runs."""

from enum import StrEnum

from piccolo.columns import JSONB, BigSerial, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from crm.core.labels import LABELS


class DomainEvent(Table, tablename="domain_event"):
    """A fact recorded in the same transaction as the change (e.g. `case.created`)."""

    id = BigSerial(primary_key=True)
    name = Varchar(length=80, index=True)
    entity_id = Integer(null=True, default=None)
    subject_type = Varchar(length=50, default="")
    subject_id = Varchar(length=64, default="")
    payload = JSONB(default="{}")
    actor_id = Integer(null=True, default=None)
    occurred_at = Timestamptz(default=TimestamptzNow())


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"  # retries exhausted: shown in the dead-letter view
    DISCARDED = "discarded"
    RETRIED = "retried"  # dead jobs only: queued again as a new job


class EventDelivery(Table, tablename="event_delivery"):
    """One subscriber's copy of an event; done in the same transaction as the subscriber's own writes."""

    event = ForeignKey(DomainEvent, index=True)
    subscriber = Varchar(length=80)
    status = Varchar(length=20, choices=DeliveryStatus, default=DeliveryStatus.PENDING)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    last_error = Text(default="")
    handled_at = Timestamptz(null=True, default=None)


class AutomationRun(Table, tablename="automation_run"):
    """One execution of a job, event subscriber or automation: trigger, input, output, outcome, duration."""

    automation = Varchar(length=80, index=True)
    trigger = Varchar(length=120)  # "event:123", "cron", "job:<id>", "manual"
    entity_id = Integer(null=True, default=None)
    subject_type = Varchar(length=50, default="")
    subject_id = Varchar(length=64, default="")
    case_id = Varchar(length=32, null=True, default=None)
    input = JSONB(default="{}")
    output = JSONB(default="{}")
    outcome = Varchar(length=20)  # ok, failed, dead, skipped
    error = Text(default="")
    attempt = Integer(default=1)
    started_at = Timestamptz(default=TimestamptzNow(), index=True)
    duration_ms = Integer(default=0)


class DeadJob(Table, tablename="dead_job"):
    """A background job that failed every attempt: shown in the dead-letter view, retried or discarded
    there."""

    job_name = Varchar(length=80)
    job_id = Varchar(length=120, unique=True)
    meta = JSONB(default="{}")
    kwargs = JSONB(default="{}")
    entity_id = Integer(null=True, default=None)
    attempts = Integer(default=0)
    last_error = Text(default="")
    status = Varchar(length=20, choices=DeliveryStatus, default=DeliveryStatus.DEAD)
    created_at = Timestamptz(default=TimestamptzNow())


LABELS.add(
    "delivery_status",
    {
        DeliveryStatus.PENDING: "Pending",
        DeliveryStatus.DONE: "Done",
        DeliveryStatus.DEAD: "Failed",
        DeliveryStatus.DISCARDED: "Discarded",
        DeliveryStatus.RETRIED: "Retried",
    },
    {
        DeliveryStatus.PENDING: "info",
        DeliveryStatus.DONE: "ok",
        DeliveryStatus.DEAD: "danger",
        DeliveryStatus.DISCARDED: "neutral",
        DeliveryStatus.RETRIED: "neutral",
    },
)
