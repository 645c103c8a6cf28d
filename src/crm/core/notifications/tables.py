"""Notifications: the in-app centre, per-user channel preferences, and each outside delivery attempt."""

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class Notification(Table, tablename="notification"):
    user_id = Integer(index=True)
    template = Varchar(length=60)
    title = Varchar(length=200)
    body = Text(default="")
    link = Varchar(length=300, default="")
    entity_id = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
    read_at = Timestamptz(null=True, default=None)


class NotificationPreference(Table, tablename="notification_preference"):
    """A user's choice per channel ("email", "chat"); no row means the channel's default (on)."""

    user_id = Integer(index=True)
    channel = Varchar(length=20)
    enabled = Boolean(default=True)


class NotificationDelivery(Table, tablename="notification_delivery"):
    """One attempt history of sending a notification over one outside channel."""

    notification = ForeignKey(Notification, index=True)
    channel = Varchar(length=20)
    target = Varchar(length=300)
    status = Varchar(length=20, default="pending")  # pending, sent, failed (retrying), dead, skipped
    attempts = Integer(default=0)
    last_error = Text(default="")
    next_attempt_at = Timestamptz(default=TimestamptzNow())
    sent_at = Timestamptz(null=True, default=None)


class NotificationTemplate(Table, tablename="notification_template"):
    """One version of a notification's wording; the highest version of a key is the one in use. Keys without a
    row use the default registered in code (version 0)."""

    key = Varchar(length=60, index=True)
    version = Integer()
    title = Varchar(length=300)
    body = Text(default="")
    created_by_id = Integer(null=True, default=None)
    reason = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
