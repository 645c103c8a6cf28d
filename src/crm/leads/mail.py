"""E-mail with a lead, on its timeline: an agent writes (without seeing the address: the system sends it, so
no reveal is needed), the `leads.send_email` job sends after commit and retries; replies arrive through the
signed inbound-mail webhook and are matched to the lead by the sender's address. An e-mail is not a first
contact (a bulk mail must not stop the SLA clock): a call or a status change is."""

from __future__ import annotations

import datetime as dt
from email.utils import parseaddr

from crm.core.audit.service import record_audit
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import ValidationFailed
from crm.core.events.service import emit
from crm.core.jobs import JobRun, enqueue, job
from crm.core.mail import new_message_id, send_mail
from crm.core.notifications.service import notify
from crm.core.notifications.templates import TemplateSpec, register_template
from crm.leads.context import add_activity, locked_lead
from crm.leads.tags import LeadsTag
from crm.settings import Settings

SEND_ATTEMPTS = 5
MAX_BODY = 20_000

LEAD_REPLIED = register_template(
    TemplateSpec(
        "lead_email_received",
        "A lead wrote to you (to the lead's owner)",
        "{{ reference }} replied: {{ subject }}",
        "{{ excerpt }}",
        sample={"reference": "LD-000123", "subject": "Re: Your account", "excerpt": "Yes, call me at 5."},
    )
)


def _checked(subject: str, body: str) -> tuple[str, str]:
    subject, body = " ".join(subject.split()), body.strip()
    errors = {}
    if not 1 <= len(subject) <= 200:
        errors["subject"] = "1 to 200 characters."
    if not body:
        errors["body"] = "Write the message."
    elif len(body) > MAX_BODY:
        errors["body"] = f"At most {MAX_BODY:,} characters."
    if errors:
        raise ValidationFailed("The e-mail is incomplete", field_errors=errors)
    return subject, body


async def send_email(actor: Actor, reference: str, subject: str, body: str) -> int:
    """Queue an e-mail to the lead (sent after commit by the job); on the timeline at once, audited."""
    subject, body = _checked(subject, body)
    async with transaction():
        lead = await locked_lead(actor, reference)
        if not lead["email"]:
            raise ValidationFailed(
                "This lead has no e-mail address", field_errors={"subject": "No address to write to."}
            )
        conn = current_connection()
        email_id = await conn.fetchval(
            "INSERT INTO lead_email (lead, direction, subject, body, status, message_id, author_id, "
            "author_label, "
            "attempts, error, created_at) VALUES ($1, 'out', $2, $3, 'queued', $4, $5, $6, 0, '', now()) "
            "RETURNING id",
            lead["id"],
            subject,
            body,
            new_message_id(Settings.from_env()),
            actor.user_id,
            actor.label,
        )
        await add_activity(lead["id"], actor, "email", subject, {"email_id": email_id, "direction": "out"})
        await conn.execute("UPDATE lead SET updated_at = now() WHERE id = $1", lead["id"])
        await enqueue(
            actor,
            "leads.send_email",
            entity_id=lead["entity_id"],
            subject_type="lead",
            subject_id=reference,
            email_id=email_id,
        )
        await emit(
            actor,
            "lead.updated",
            entity_id=lead["entity_id"],
            subject_type="lead",
            subject_id=reference,
            payload={"lead_id": lead["id"], "owner_id": lead["owner_id"], "change": "email"},
        )
        await record_audit(
            actor,
            LeadsTag.LEAD_EMAIL,
            target_type="lead",
            target_id=reference,
            entity_id=lead["entity_id"],
            after={"email_id": email_id, "subject": subject, "characters": len(body)},
        )
    return email_id


@job("leads.send_email", max_attempts=SEND_ATTEMPTS, timeout_s=60, retry_delay_s=10, label="E-mail to a lead")
async def send_queued_email(run: JobRun, email_id: int) -> dict:
    """Send one queued e-mail (a sent or failed one is left alone, so a repeated job sends nothing). The
    Message-ID was fixed when it was queued: a message re-sent after a lost acknowledgement is the same
    message."""
    rows = await fetch(
        "SELECT e.*, l.email AS address, l.reference, l.entity_id FROM lead_email e "
        "JOIN lead l ON l.id = e.lead WHERE e.id = $1",
        email_id,
    )
    if not rows or rows[0]["status"] != "queued":
        return {"skipped": rows[0]["status"] if rows else "gone"}
    email = rows[0]
    try:
        await send_mail(email["address"], email["subject"], email["body"], message_id=email["message_id"])
    except Exception as exc:
        last = run.attempt >= SEND_ATTEMPTS
        await fetch(
            "UPDATE lead_email SET attempts = $2, error = $3, status = $4 WHERE id = $1 AND status = "
            "'queued'",
            email_id,
            run.attempt,
            str(exc)[:2000],
            "failed" if last else "queued",
        )
        raise
    async with transaction():
        await current_connection().execute(
            "UPDATE lead_email SET status = 'sent', attempts = $2, error = '', sent_at = now() WHERE id = $1",
            email_id,
            run.attempt,
        )
        await emit(
            run.actor,
            "lead.updated",
            entity_id=email["entity_id"],
            subject_type="lead",
            subject_id=email["reference"],
            payload={"lead_id": email["lead"], "change": "email_sent"},
        )
    return {"email_id": email_id, "sent": True, "attempt": run.attempt}


async def receive_email(actor: Actor, entity_id: int, message: dict) -> dict:
    """Record an e-mail from a lead (the inbound webhook, already authenticated): matched by the sender's
    address to the newest lead of the source's entity, idempotent on the Message-ID; the owner is notified."""
    sender = parseaddr(str(message.get("from") or ""))[1].strip().lower()
    message_id = str(message.get("message_id") or "").strip()
    subject = " ".join(str(message.get("subject") or "(no subject)").split())[:200]
    body = str(message.get("text") or "").strip()[:MAX_BODY]
    errors = {k: "Required." for k, v in (("from", sender), ("message_id", message_id)) if not v}
    if errors:
        raise ValidationFailed("The message is incomplete", field_errors=errors)
    async with transaction():
        conn = current_connection()
        lead = await conn.fetchrow(
            "SELECT * FROM lead WHERE email_key = $1 AND entity_id = $2 AND merged_into_id IS NULL "
            "ORDER BY id DESC LIMIT 1 FOR UPDATE",
            sender,
            entity_id,
        )
        if lead is None:
            return {"matched": False}
        email_id = await conn.fetchval(
            "INSERT INTO lead_email (lead, direction, subject, body, status, message_id, author_id, "
            "author_label, "
            "attempts, error, created_at, sent_at) VALUES ($1, 'in', $2, $3, 'received', $4, NULL, $5, 0, "
            "'', now(), $6) "
            "ON CONFLICT (message_id) WHERE direction = 'in' DO NOTHING RETURNING id",
            lead["id"],
            subject,
            body,
            message_id,
            sender,
            _received_at(message.get("received_at")),
        )
        if email_id is None:
            return {"matched": True, "reference": lead["reference"], "duplicate": True}
        await add_activity(lead["id"], actor, "email", subject, {"email_id": email_id, "direction": "in"})
        await conn.execute("UPDATE lead SET updated_at = now() WHERE id = $1", lead["id"])
        await emit(
            actor,
            "lead.updated",
            entity_id=entity_id,
            subject_type="lead",
            subject_id=lead["reference"],
            payload={"lead_id": lead["id"], "owner_id": lead["owner_id"], "change": "email_received"},
        )
        if lead["owner_id"]:
            await notify(
                lead["owner_id"],
                "lead_email_received",
                {"reference": lead["reference"], "subject": subject, "excerpt": body[:300]},
                f"/leads/{lead['reference']}",
                entity_id,
            )
    return {"matched": True, "reference": lead["reference"], "email_id": email_id}


def _received_at(value) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return dt.datetime.now(dt.UTC)
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
