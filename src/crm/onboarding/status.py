"""Where a client stands on the way to trading, as the client portal shows it: each step, done or next.
Screening is never named to the client (no tipping-off): whatever it found reads as "we check your
details"."""

from __future__ import annotations

from crm.core.db import fetch
from crm.core.i18n import N_

IDENTITY = {"passport", "id_card", "driving_licence"}


async def profile(client_id: int) -> dict:
    """The client's profile as the form shows it."""
    row = (
        await fetch(
            "SELECT first_name, last_name, date_of_birth, country, language FROM client WHERE id = $1",
            client_id,
        )
    )[0]
    return dict(row) | {"date_of_birth": row["date_of_birth"].isoformat() if row["date_of_birth"] else ""}


async def journey(client_id: int) -> dict:
    rows = await fetch(
        "SELECT c.reference, c.first_name, c.status, a.email, a.email_verified_at "
        "FROM client c JOIN client_account a ON a.client = c.id WHERE c.id = $1",
        client_id,
    )
    row = dict(rows[0])
    sent = {
        r["kind"]
        for r in await fetch(
            "SELECT DISTINCT kind FROM kyc_document WHERE client = $1 AND status IN ('received', 'accepted')",
            client_id,
        )
    }
    identity, selfie = bool(sent & IDENTITY), "selfie" in sent
    documents = identity and selfie
    steps = [
        {"key": "account", "title": N_("Open your account"), "state": "done", "text": N_("Done.")},
        {
            "key": "email",
            "title": N_("Confirm your e-mail address"),
            "state": "done" if row["email_verified_at"] else "todo",
            "text": N_("Done.") if row["email_verified_at"] else N_("Open the link we e-mailed you."),
        },
        {
            "key": "documents",
            "title": N_("Prove your identity"),
            "state": "done" if documents else "todo",
            "text": N_("Done.")
            if documents
            else N_("Now take a selfie.")
            if identity
            else N_("Upload your passport or identity card, and take a selfie."),
            "href": "/portal/documents",
        },
        {
            "key": "checks",
            "title": N_("Our checks"),
            "state": "waiting" if documents else "later",
            "text": N_("We are checking your details. This usually takes minutes.")
            if documents
            else N_("Once your documents are in, we check them. This usually takes minutes."),
        },
    ]
    following = next((s for s in steps if s["state"] in ("todo", "waiting")), None)
    return {"client": row, "steps": steps, "next": following}
