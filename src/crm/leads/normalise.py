"""Cleaning a lead on the way in: E.164 phone numbers, ISO 3166 countries, ISO 639 languages, trimmed names,
lower-cased email keys, UTM fields. Returns field-level errors instead of raising, so every intake path can
report all problems of a row at once."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

import phonenumbers
import pycountry

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
TEXT_LIMITS = {
    "first_name": 100,
    "last_name": 100,
    "source": 60,
    "campaign": 120,
    "ib_code": 40,
    "brand": 40,
    "device_id": 128,
    "external_id": 120,
}
FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "country",
    "language",
    "date_of_birth",
    "source",
    "campaign",
    "ib_code",
    "brand",
    "device_id",
    "external_id",
    *UTM_FIELDS,
)


@dataclass
class CleanLead:
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    phone: str = ""
    country: str = ""
    language: str = ""
    date_of_birth: dt.date | None = None
    source: str = ""
    campaign: str = ""
    ib_code: str = ""
    brand: str = ""
    device_id: str = ""
    external_id: str | None = None
    utm: dict = field(default_factory=dict)

    @property
    def email_key(self) -> str:
        return self.email.lower()

    @property
    def form_complete(self) -> bool:
        return all((self.first_name, self.last_name, self.email, self.phone, self.country))


def _text(raw: dict, name: str) -> str:
    value = raw.get(name)
    value = "" if value is None else str(value)
    return " ".join(value.split())


def country_code(value: str) -> str | None:
    """ISO 3166-1 alpha-2 from a code (alpha-2 or alpha-3) or an English name; None if unknown."""
    value = value.strip()
    if not value:
        return None
    try:
        return pycountry.countries.lookup(value).alpha_2
    except LookupError:
        return None


def language_code(value: str) -> str | None:
    """ISO 639-1 (two letters) where one exists, else the alpha-3 code; accepts "es", "spa", "Spanish",
    "es-MX"."""
    value = value.strip().replace("_", "-").split("-")[0]
    if not value:
        return None
    # A code is looked up as a code first: `lookup` tries names too and matches "en" to the language named
    # "En" (enc) and "ko" to "Ko" (fuj) before the codes.
    lang = None
    if len(value) == 2:
        lang = pycountry.languages.get(alpha_2=value.lower())
    elif len(value) == 3:
        lang = pycountry.languages.get(alpha_3=value.lower()) or pycountry.languages.get(
            bibliographic=value.lower()
        )
    if lang is None:
        try:
            lang = pycountry.languages.lookup(value)
        except LookupError:
            return None
    return getattr(lang, "alpha_2", None) or lang.alpha_3


def phone_e164(value: str, country: str | None) -> str | None:
    try:
        number = phonenumbers.parse(value, country or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean(raw: dict, *, today: dt.date | None = None) -> tuple[CleanLead, dict[str, str]]:
    """A CleanLead and a dict of field → message for whatever could not be accepted."""
    errors: dict[str, str] = {}
    lead = CleanLead()
    for name, limit in TEXT_LIMITS.items():
        value = _text(raw, name)
        if len(value) > limit:
            errors[name] = f"At most {limit} characters."
        setattr(lead, name, value[:limit])
    lead.external_id = lead.external_id or None
    lead.source = lead.source.lower()
    lead.ib_code = lead.ib_code.upper()

    email = _text(raw, "email")
    if email:
        if EMAIL.match(email) and len(email) <= 254:
            lead.email = email
        else:
            errors["email"] = "This is not an e-mail address."

    country_raw = _text(raw, "country")
    if country_raw:
        code = country_code(country_raw)
        if code:
            lead.country = code
        else:
            errors["country"] = f"Unknown country {country_raw!r}: use a country name or ISO code."

    phone_raw = _text(raw, "phone")
    if phone_raw:
        e164 = phone_e164(phone_raw, lead.country or None)
        if e164:
            lead.phone = e164
            if not lead.country and "country" not in errors:
                region = phonenumbers.region_code_for_number(phonenumbers.parse(e164))
                lead.country = region if region and region != "ZZ" else ""
        else:
            errors["phone"] = "This is not a valid phone number" + (
                "." if lead.country else ": add the country code (e.g. +44 …) or the country."
            )

    language_raw = _text(raw, "language")
    if language_raw:
        code = language_code(language_raw)
        if code:
            lead.language = code
        else:
            errors["language"] = f"Unknown language {language_raw!r}."

    dob_raw = _text(raw, "date_of_birth")
    if dob_raw:
        try:
            dob = dt.date.fromisoformat(dob_raw)
        except ValueError:
            errors["date_of_birth"] = "Use the form YYYY-MM-DD."
        else:
            today = today or dt.datetime.now(dt.UTC).date()
            age = today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))
            if age < 18:
                errors["date_of_birth"] = "You must be 18 or older to open an account."
            elif age > 120:
                errors["date_of_birth"] = "Check the year of birth."
            else:
                lead.date_of_birth = dob

    lead.utm = {k: _text(raw, k)[:120] for k in UTM_FIELDS if _text(raw, k)}
    if not lead.campaign and lead.utm.get("utm_campaign"):
        lead.campaign = lead.utm["utm_campaign"]
    if not lead.source and lead.utm.get("utm_source"):
        lead.source = lead.utm["utm_source"].lower()[:60]

    if not lead.email and not lead.phone and "email" not in errors and "phone" not in errors:
        errors["email"] = "Give an e-mail address or a phone number."
    if not lead.country and "country" not in errors:
        errors["country"] = "The country is required (or a phone number with its country code)."
    if not (lead.first_name or lead.last_name) and "first_name" not in errors:
        errors["first_name"] = "Give a name."
    return lead, errors


def whole_minutes(seconds: float) -> int | float:
    """Minutes as a person writes them: 5, not 5.0 (and 1.5 when it is not whole)."""
    minutes = round(seconds / 60, 1)
    return int(minutes) if minutes == int(minutes) else minutes
