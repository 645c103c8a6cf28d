"""A person registers in the client portal and becomes a client, in one transaction: the client record, its
portal account, the consents (the entity's privacy notice in force, its exact version; marketing yes or no),
and, when they were a lead (the same e-mail address), the lead marked registered with a link both ways and the
lead's entity, owner, brand and introducing partner kept. The registration is audited and announced
(`client.registered`); screening against the sanctions and PEP lists and the verification e-mail are asked
for in the same transaction, so they happen exactly when the client exists."""

from __future__ import annotations

import datetime as dt
import re

import pycountry

from crm.clients import consent
from crm.clients.tags import ClientsTag
from crm.core.audit.service import record_audit
from crm.core.db import current_connection, transaction
from crm.core.errors import ValidationFailed
from crm.core.events.service import emit
from crm.core.i18n import N_
from crm.core.inputs import parse_date
from crm.core.jobs import enqueue
from crm.identity import portal
from crm.identity.credentials import check_password_strength
from crm.kyc import requirements
from crm.leads import conversion
from crm.leads.context import entity_for_form

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[A-Za-z]{2,}$")
COUNTRIES = {c.alpha_2 for c in pycountry.countries}
ADULT = 18


def _years(born: dt.date, today: dt.date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def check_person(form: dict, errors: dict[str, str]) -> dict:
    """Name, country and date of birth as a person gives them (at registration, in the profile); errors are
    added to `errors` (translatable messages)."""
    values = {k: str(form.get(k) or "").strip() for k in ("first_name", "last_name", "country")}
    for name in ("first_name", "last_name"):
        if not 1 <= len(values[name]) <= 100 or any(ch.isdigit() for ch in values[name]):
            errors[name] = N_("Enter your name as in your identity document.")
    values["country"] = values["country"].upper()
    if values["country"] not in COUNTRIES:
        errors["country"] = N_("Choose your country of residence.")
    born = None
    try:
        born = parse_date(form.get("date_of_birth"))
    except ValidationFailed:
        pass
    today = dt.datetime.now(dt.UTC).date()
    if born is None or not 0 <= _years(born, today) <= 120:
        errors["date_of_birth"] = N_("Enter your date of birth.")
    elif _years(born, today) < ADULT:
        errors["date_of_birth"] = N_("You must be 18 or older to open an account.")
    values["date_of_birth"] = born
    return values


def check(form: dict) -> dict:
    """The form's values, or ValidationFailed naming each field to fix (the messages are translatable)."""
    errors: dict[str, str] = {}
    values = check_person(form, errors)
    values["email"] = str(form.get("email") or "").strip().lower()
    if not EMAIL.match(values["email"]) or len(values["email"]) > 254:
        errors["email"] = N_("Enter a valid e-mail address.")
    password = str(form.get("password") or "")
    try:
        check_password_strength(password, email=values["email"])
    except ValidationFailed:
        errors["password"] = N_("Use at least 12 characters, 6 of them different, not your e-mail name.")
    values["password"] = password
    if errors:
        raise ValidationFailed(N_("Please correct the fields marked below."), field_errors=errors)
    return values


async def register(form: dict, *, language: str, brand: str, meta) -> dict:
    """Create the client and their account; returns {client_id, reference, account_id, lead}."""
    values = check(form)
    lead = await conversion.lead_for_registration(values["email"])
    entity_id = lead["entity_id"] if lead else await entity_for_form(brand, values["country"])
    rules = await requirements.in_force(entity_id)
    if requirements.is_restricted(rules["document"] if rules else None, values["country"]):
        raise ValidationFailed(requirements.RESTRICTED, field_errors={"country": requirements.RESTRICTED})
    async with transaction():
        conn = current_connection()
        client = await conn.fetchrow(
            "WITH id AS (SELECT nextval(pg_get_serial_sequence('client', 'id')) AS id) "
            "INSERT INTO client (id, reference, entity, first_name, last_name, email, phone, country, "
            "date_of_birth, id_number, bank_account, status, owner, lead_id, ib_code, brand, language, "
            "created_at) SELECT id.id, 'CL-' || lpad(id.id::text, 6, '0'), $1, $2, $3, $4, '', $5, $6, "
            "'', '', 'registered', $7, $8, $9, $10, $11, now() FROM id RETURNING id, reference, entity",
            entity_id,
            values["first_name"],
            values["last_name"],
            values["email"],
            values["country"],
            values["date_of_birth"],
            lead["owner_id"] if lead else None,
            lead["id"] if lead else None,
            lead["ib_code"] if lead else "",
            (lead["brand"] if lead else brand)[:40],
            language,
        )
        account_id = await portal.create_account(client["id"], values["email"], values["password"], language)
        account = {
            "id": account_id,
            "client": client["id"],
            "reference": client["reference"],
            "email": values["email"],
            "entity": entity_id,
        }
        actor = portal.client_actor(account, meta)
        consents = await consent.record_for_client(
            client["id"],
            entity_id,
            form,
            channel="portal",
            ip=meta.ip or "",
            user_agent=meta.user_agent or "",
        )
        if lead:
            await conversion.mark_registered(actor, lead, client["id"], client["reference"])
        await record_audit(
            actor,
            ClientsTag.CLIENT_REGISTER,
            target_type="client",
            target_id=client["id"],
            target_label=client["reference"],
            entity_id=entity_id,
            client_id=client["id"],
            after={
                "country": values["country"],
                "lead": lead["reference"] if lead else None,
                "owner_id": lead["owner_id"] if lead else None,
                "ib_code": lead["ib_code"] if lead else "",
                "language": language,
                "kyc_requirements": f"v{rules['version']}" if rules else None,
            }
            | consents,
        )
        await emit(
            actor,
            "client.registered",
            entity_id=entity_id,
            subject_type="client",
            subject_id=client["id"],
            payload={"client_id": client["id"], "lead_id": lead["id"] if lead else None},
        )
        await enqueue(
            actor, "kyc.screen_client", subject_type="client", subject_id=client["id"], client_id=client["id"]
        )
        await portal.send_link(actor, account_id, "verify")
    return {
        "client_id": client["id"],
        "reference": client["reference"],
        "account_id": account_id,
        "lead": lead["reference"] if lead else None,
    }
