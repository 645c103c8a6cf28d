"""Consents: what a person agreed to, when and from where. The public form records two with the lead it
creates, and the client portal's registration two with the client, in the same transaction: the privacy
notice of the entity that will hold their data (its exact version; required when the entity has published
one) and marketing contact (optional, recorded either way, so "no" is evidence too)."""

from __future__ import annotations

from crm.clients import notices
from crm.core.db import current_connection, fetch
from crm.core.errors import ValidationFailed
from crm.core.i18n import N_

REREAD = "Please read and accept the privacy notice of {entity}, which will hold your data."


async def record_for_lead(lead: dict, form: dict, *, channel: str, ip: str, user_agent: str) -> dict | None:
    """Check the form accepted the entity's published notice (the one it showed, not an older version) and
    save both consents; returns what the lead's audit row notes. ValidationFailed (rolling the intake back)
    when the notice shown is not the one in force."""
    return await _record(
        {"lead_id": lead["id"]},
        lead["entity_id"],
        form,
        REREAD,
        channel=channel,
        ip=ip,
        user_agent=user_agent,
    )


async def record_for_client(
    client_id: int, entity_id: int, form: dict, *, channel: str, ip: str, user_agent: str
) -> dict:
    """The same two consents for a person registering as a client (the portal's form); the refusal's message
    is the portal's to translate."""
    return await _record(
        {"client": client_id},
        entity_id,
        form,
        N_("Please read and accept the privacy notice."),
        channel=channel,
        ip=ip,
        user_agent=user_agent,
    )


async def _record(
    subject: dict, entity_id: int, form: dict, refusal: str, *, channel: str, ip: str, user_agent: str
) -> dict:
    notice = await notices.published(entity_id)
    shown = str(form.get("notice_id") or "")
    if notice is not None and (form.get("consent") not in ("on", "yes", "1") or shown != str(notice["id"])):
        message = refusal.format(entity=notice["entity_name"])
        raise ValidationFailed(
            "The privacy notice was not accepted" if "{entity}" in refusal else message,
            field_errors={"consent": message},
        )
    marketing = form.get("marketing") in ("on", "yes", "1")
    rows = [("marketing", marketing, None, None)]
    if notice is not None:
        rows.insert(0, ("privacy", True, notice["id"], notice["version"]))
    (column,) = subject  # lead_id or client: whom the consents are kept with
    await current_connection().executemany(
        f"INSERT INTO consent ({column}, kind, granted, notice, notice_version, entity, channel, ip, "  # noqa: S608
        "user_agent, given_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, now())",
        [
            (
                subject[column],
                kind,
                granted,
                notice_id,
                version,
                entity_id,
                channel,
                ip[:45],
                user_agent[:300],
            )
            for kind, granted, notice_id, version in rows
        ],
    )
    return {
        "privacy_notice": f"v{notice['version']}" if notice else None,
        "marketing_consent": marketing,
    }


async def of_lead(lead_id: int) -> list[dict]:
    return [
        dict(r)
        for r in await fetch(
            "SELECT c.kind, c.granted, c.notice_version, c.channel, c.ip, c.given_at, e.code AS entity_code "
            "FROM consent c JOIN legal_entity e ON e.id = c.entity WHERE c.lead_id = $1 ORDER BY c.id",
            lead_id,
        )
    ]
