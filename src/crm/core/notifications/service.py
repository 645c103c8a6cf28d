"""Notifying staff: in-app at once, by email (SMTP) and to the team's chat webhook (Slack format) after
commit.

`notify` writes the in-app notification and one delivery row per outside channel the user has not switched
off, and emits `notification.created`. The `notifications.deliver` subscriber sends them; a channel that fails
is recorded and retried by the `retry_notifications` cron with backoff, and never fails the action.
"""

from __future__ import annotations

import datetime as dt

import httpx

from crm.core.cases.kinds import find_case_kind
from crm.core.cases.tables import PRIORITIES
from crm.core.db import current_connection, fetch, transaction
from crm.core.events.service import notify_sql, outbox_sql, subscribe, subscribers_of
from crm.core.live import publish
from crm.core.mail import send_mail
from crm.core.notifications.tables import Notification, NotificationDelivery, NotificationPreference
from crm.core.notifications.templates import render
from crm.settings import Settings

CHANNELS = ("email", "chat")
MAX_ATTEMPTS = 5
LIVE_CHANNEL = "crm:live:notifications"


_NOTIFY = f"""
WITH note AS (
    INSERT INTO notification (user_id, template, title, body, link, entity_id, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, now()) RETURNING id
), targets AS (
    SELECT 'email' AS channel, u.email AS target FROM staff_user u WHERE u.id = $1 AND u.email <> ''
    UNION ALL
    SELECT 'chat', t.chat_webhook_url FROM team t WHERE t.id = $7 AND t.chat_webhook_url <> ''
), deliveries AS (
    INSERT INTO notification_delivery (notification, channel, target, status, attempts, last_error,
        next_attempt_at)
    SELECT note.id, targets.channel, targets.target, 'pending', 0, '', now() FROM note, targets
    WHERE coalesce((SELECT p.enabled FROM notification_preference p
                    WHERE p.user_id = $1 AND p.channel = targets.channel LIMIT 1), true)
), {
    outbox_sql(
        "event",
        name="'notification.created'",
        entity="$6::int",
        subject_type="'notification'",
        subject_id="note.id::text",
        payload="jsonb_build_object('user_id', $1::int)",
        actor="NULL::int",
        targets="$8",
        source="FROM note",
    )
}
SELECT note.id, {notify_sql("event", "$8")} FROM note
"""  # noqa: S608 (SQL fragments of the owning modules)


async def notify(
    user_id: int,
    template: str,
    context: dict,
    link: str = "",
    entity_id: int | None = None,
    team_id: int | None = None,
) -> int:
    """Notify one staff user in the current transaction, worded by `template` (see templates.py) filled with
    `context`; returns the notification id. One round trip writes the notification and a delivery per outside
    channel the user has not switched off (e-mail; the team's chat webhook), and the `notification.created`
    event."""
    title, body = await render(template, context)
    # the notification.created event is written by the same statement (see core/events: the outbox)
    return await current_connection().fetchval(
        _NOTIFY,
        user_id,
        template,
        title[:200],
        body,
        link,
        entity_id,
        team_id,
        subscribers_of("notification.created"),
    )


async def _send_chat(url: str, title: str, body: str, link: str, settings: Settings) -> None:
    text = f"*{title}*\n{body}" + (
        f"\n<{settings.base_url.rstrip('/')}{link}|Open in the CRM>" if link else ""
    )
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.post(url, json={"text": text})
    if response.status_code >= 300:
        raise RuntimeError(f"chat webhook answered {response.status_code}")


async def _attempt(delivery: dict, note: dict, settings: Settings) -> None:
    attempts = delivery["attempts"] + 1
    try:
        if delivery["channel"] == "email":
            await send_mail(
                delivery["target"], note["title"], f"{note['body']}\n\n{settings.base_url}{note['link']}"
            )
        else:
            await _send_chat(delivery["target"], note["title"], note["body"], note["link"], settings)
    except Exception as exc:  # a channel's failure is recorded and retried, never raised to the action
        status = "dead" if attempts >= MAX_ATTEMPTS else "failed"
        await NotificationDelivery.update(
            {
                NotificationDelivery.status: status,
                NotificationDelivery.attempts: attempts,
                NotificationDelivery.last_error: str(exc)[:2000],
                NotificationDelivery.next_attempt_at: dt.datetime.now(dt.UTC)
                + dt.timedelta(seconds=30 * 2**attempts),
            }
        ).where(NotificationDelivery.id == delivery["id"])
        return
    await NotificationDelivery.update(
        {
            NotificationDelivery.status: "sent",
            NotificationDelivery.attempts: attempts,
            NotificationDelivery.sent_at: dt.datetime.now(dt.UTC),
        }
    ).where(NotificationDelivery.id == delivery["id"])


@subscribe("notifications.deliver", "notification.created", label="Notification delivery")
async def deliver(event: dict) -> dict:
    """Send a new notification's outside channels and push the in-app badge; returns what happened."""
    settings = Settings.from_env()
    note = await Notification.select().where(Notification.id == int(event["subject_id"])).first()
    deliveries = await NotificationDelivery.select().where(
        (NotificationDelivery.notification == note["id"]) & (NotificationDelivery.status == "pending")
    )
    for delivery in deliveries:
        await _attempt(delivery, note, settings)
    await publish(settings.redis_url, LIVE_CHANNEL, {"user_id": note["user_id"]})
    sent = await NotificationDelivery.select(NotificationDelivery.channel, NotificationDelivery.status).where(
        NotificationDelivery.notification == note["id"]
    )
    return {"notification": note["id"], "channels": {d["channel"]: d["status"] for d in sent}}


async def retry_failed(settings: Settings) -> int:
    """Cron: try failed channels again once their backoff has passed."""
    rows = (
        await NotificationDelivery.select()
        .where(
            (NotificationDelivery.status == "failed")
            & (NotificationDelivery.next_attempt_at <= dt.datetime.now(dt.UTC))
        )
        .limit(200)
    )
    for delivery in rows:
        note = await Notification.select().where(Notification.id == delivery["notification"]).first()
        async with transaction():
            await _attempt(delivery, note, settings)
    return len(rows)


@subscribe(
    "notifications.cases",
    "case.created",
    "case.assigned",
    "case.escalated",
    label="Case notifications",
)
async def notify_about_cases(event: dict) -> dict:
    """A case assigned to someone (by someone else), or escalated to a team lead, tells that person."""
    p = event["payload"]
    link = f"/cases/{p['reference']}"
    if event["name"] == "case.escalated":
        recipient, template = p.get("lead_id"), "case_escalated"
        if not recipient:
            return {"skipped": "no team lead"}
    else:
        recipient, template = p.get("assignee_id"), "case_assigned"
        if not recipient or recipient == event["actor_id"]:
            return {"skipped": "self-assigned or unassigned"}
    rows = await fetch("SELECT title, kind, priority FROM work_case WHERE id = $1", p["case_id"])
    case = rows[0] if rows else {"title": "", "kind": "", "priority": 3}
    if template == "case_assigned" and not _kind_notifies(case["kind"]):
        return {"skipped": f"{case['kind']} cases notify through their own area"}
    context = {
        "reference": p["reference"],
        "title": case["title"],
        "kind": case["kind"],
        "priority": PRIORITIES.get(case["priority"], str(case["priority"])),
    }
    await notify(recipient, template, context, link, event["entity_id"], p.get("queue_id"))
    return {"notified": recipient, "case_id": p["reference"]}


def _kind_notifies(kind: str) -> bool:
    spec = find_case_kind(kind)
    return spec is None or spec.notify_assignee


async def unread_count(user_id: int) -> int:
    return await Notification.count().where(
        (Notification.user_id == user_id) & Notification.read_at.is_null()
    )


async def list_for(user_id: int) -> list[dict]:
    return (
        await Notification.select()
        .where(Notification.user_id == user_id)
        .order_by(Notification.id, ascending=False)
        .limit(100)
    )


async def mark_all_read(user_id: int) -> None:
    await Notification.update({Notification.read_at: dt.datetime.now(dt.UTC)}).where(
        (Notification.user_id == user_id) & Notification.read_at.is_null()
    )


async def set_preferences(user_id: int, enabled: dict[str, bool]) -> None:
    async with transaction():
        await NotificationPreference.delete().where(NotificationPreference.user_id == user_id)
        await NotificationPreference.insert(
            *[
                NotificationPreference(user_id=user_id, channel=c, enabled=enabled.get(c, False))
                for c in CHANNELS
            ]
        )


async def preferences(user_id: int) -> dict[str, bool]:
    prefs = {
        p["channel"]: p["enabled"]
        for p in await NotificationPreference.select().where(NotificationPreference.user_id == user_id)
    }
    return {c: prefs.get(c, True) for c in CHANNELS}
