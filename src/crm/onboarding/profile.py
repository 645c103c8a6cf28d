"""A client changes their profile in the portal. Name, date of birth and country are identity: a change is
audited with before and after, screened again against the lists, and, once the client has sent documents,
opens a KYC re-review case for compliance (the documents may no longer match). A move to a country the
entity does not take clients from is refused. The language only changes how the portal and e-mails speak."""

from __future__ import annotations

import datetime as dt

from crm.clients.tags import ClientsTag
from crm.core.audit.service import record_audit
from crm.core.cases.kinds import CaseKind, register_case_kind
from crm.core.cases.service import open_case
from crm.core.context import Actor
from crm.core.db import current_connection, transaction
from crm.core.errors import ValidationFailed
from crm.core.i18n import LANGUAGES, N_
from crm.core.jobs import enqueue
from crm.kyc import requirements
from crm.onboarding.registration import check_person

REREVIEW = register_case_kind(
    CaseKind("kyc.rereview", "KYC re-review", 2, dt.timedelta(days=2), "compliance")
)
IDENTITY_FIELDS = ("first_name", "last_name", "date_of_birth", "country")


async def update_profile(actor: Actor, client_id: int, form: dict) -> dict:
    """Save the client's own changes; returns {"changed": [...], "case": reference or None}."""
    errors: dict[str, str] = {}
    values = check_person(form, errors)
    language = str(form.get("language") or "")
    if language not in LANGUAGES:
        errors["language"] = N_("Choose a language.")
    if errors:
        raise ValidationFailed(N_("Please correct the fields marked below."), field_errors=errors)
    async with transaction():
        conn = current_connection()
        client = dict(await conn.fetchrow("SELECT * FROM client WHERE id = $1 FOR UPDATE", client_id))
        rules = await requirements.in_force(client["entity"])
        if values["country"] != client["country"] and requirements.is_restricted(
            rules["document"] if rules else None, values["country"]
        ):
            raise ValidationFailed(requirements.RESTRICTED, field_errors={"country": requirements.RESTRICTED})
        changed = [f for f in IDENTITY_FIELDS if values[f] != client[f]]
        if not changed and language == client["language"]:
            return {"changed": [], "case": None}
        await conn.execute(
            "UPDATE client SET first_name = $2, last_name = $3, date_of_birth = $4, country = $5, "
            "language = $6 WHERE id = $1",
            client_id,
            values["first_name"],
            values["last_name"],
            values["date_of_birth"],
            values["country"],
            language,
        )
        await conn.execute("UPDATE client_account SET language = $2 WHERE client = $1", client_id, language)
        before = {f: client[f] for f in (*changed, "language")}
        after = {f: values[f] for f in changed} | {"language": language}
        await record_audit(
            actor,
            ClientsTag.PROFILE_CHANGE,
            target_type="client",
            target_id=client_id,
            target_label=client["reference"],
            entity_id=client["entity"],
            client_id=client_id,
            before=before,
            after=after,
        )
        case = None
        if changed:
            await enqueue(
                actor, "kyc.screen_client", subject_type="client", subject_id=client_id, client_id=client_id
            )
            if await conn.fetchval("SELECT 1 FROM kyc_document WHERE client = $1 LIMIT 1", client_id):
                opened = await open_case(
                    Actor.system("kyc.rereview"),
                    REREVIEW.name,
                    entity_id=client["entity"],
                    title=f"Re-review: {client['reference']} changed {', '.join(changed)}",
                    subjects=[("client", str(client_id), client["reference"])],
                    body="The client changed their "
                    + ", ".join(changed)
                    + " in the portal: "
                    + "; ".join(f"{f}: {client[f]} → {values[f]}" for f in changed),
                )
                case = opened["reference"]
    return {"changed": changed, "case": case}
