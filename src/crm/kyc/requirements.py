"""KYC requirements per legal entity, as versioned rules (crm.core.rules): the levels a client can reach,
what each level requires and what it unlocks (demo, live trading, deposits up to a limit, withdrawals), the
identity documents accepted per country of residence, how old a proof of address may be, and the countries
the entity does not take clients from. Edited in the UI, approved by a second person, each version kept; the
onboarding reads the version in force and names it in what it decides."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import pycountry

from crm.core.errors import ValidationFailed
from crm.core.i18n import N_
from crm.core.permissions import Permission
from crm.core.rules.service import RuleKind, current, register_rule_kind

KIND = "kyc.requirements"
IDENTITY_DOCUMENTS = ("passport", "id_card", "driving_licence")
REQUIREMENTS = {
    "email": "E-mail address confirmed",
    "identity": "Identity document",
    "selfie": "Selfie",
    "screening": "Sanctions and PEP screening clear",
    "proof_of_address": "Proof of address",
    "appropriateness": "Appropriateness test",
}
UNLOCKS = {
    "demo": "Demo account",
    "live_trading": "Live trading account",
    "deposits": "Deposits",
    "withdrawals": "Withdrawals",
}
COUNTRIES = {c.alpha_2 for c in pycountry.countries}
CODE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")
RESTRICTED = N_("We cannot open accounts for residents of this country.")


def _countries(values, field: str, errors: dict) -> list[str]:
    codes = sorted({str(v).strip().upper() for v in values or [] if str(v).strip()})
    unknown = [c for c in codes if c not in COUNTRIES]
    if unknown:
        errors[field] = f"Unknown country codes: {', '.join(unknown)} (use ISO codes such as DE, MX)."
    return codes


def _choices(values, allowed, field: str, errors: dict) -> list[str]:
    chosen = [v for v in dict.fromkeys(values or []) if v]
    wrong = [v for v in chosen if v not in allowed]
    if wrong:
        errors[field] = f"Unknown: {', '.join(map(str, wrong))}."
    return [v for v in allowed if v in chosen]


def check(document: dict) -> dict:
    """The requirements document, clean, or ValidationFailed naming each field to fix."""
    errors: dict[str, str] = {}
    restricted = _countries(document.get("restricted_countries"), "restricted_countries", errors)
    identity = document.get("identity_documents") or {}
    default = _choices(identity.get("default"), IDENTITY_DOCUMENTS, "identity_default", errors)
    if not default:
        errors.setdefault("identity_default", "Accept at least one identity document.")
    by_country = {}
    for n, (country, kinds) in enumerate(sorted((identity.get("by_country") or {}).items())):
        code = str(country).strip().upper()
        if code not in COUNTRIES:
            errors[f"country-{n}"] = f"{country!r} is not an ISO country code."
            continue
        chosen = _choices(kinds, IDENTITY_DOCUMENTS, f"country-{n}", errors)
        if not chosen:
            errors[f"country-{n}"] = f"Accept at least one identity document from {code}."
        by_country[code] = chosen
    levels, codes = [], set()
    for n, level in enumerate(document.get("levels") or []):
        code = str(level.get("code") or "").strip().lower()
        if not code or not set(code) <= CODE_CHARS or len(code) > 30 or code in codes:
            errors[f"level-{n}-code"] = "A short code of letters, digits and _, different for each level."
        codes.add(code)
        name = str(level.get("name") or "").strip()
        if not 1 <= len(name) <= 80:
            errors[f"level-{n}-name"] = "Give the level a name (up to 80 characters)."
        requires = _choices(level.get("requires"), list(REQUIREMENTS), f"level-{n}-requires", errors)
        unlocks = _choices(level.get("unlocks"), list(UNLOCKS), f"level-{n}-unlocks", errors)
        if "identity" not in requires and set(unlocks) - {"demo"}:
            errors[f"level-{n}-requires"] = (
                "Live trading, deposits and withdrawals need an identity document."
            )
        limit = str(level.get("deposit_limit") or "").strip()
        if limit:
            try:
                if Decimal(limit) <= 0 or Decimal(limit).as_tuple().exponent < -2:
                    raise InvalidOperation
                limit = str(Decimal(limit).quantize(Decimal("0.01")))
            except InvalidOperation:
                errors[f"level-{n}-deposit_limit"] = (
                    "An amount such as 2000 or 2000.00, or empty for no limit."
                )
        levels.append(
            {"code": code, "name": name, "requires": requires, "unlocks": unlocks, "deposit_limit": limit}
        )
    if not levels:
        errors["levels"] = "Define at least one level."
    try:
        max_age = int(document.get("proof_of_address_max_age_days") or 0)
        if not 1 <= max_age <= 365:
            raise ValueError
    except (TypeError, ValueError):
        errors["proof_of_address_max_age_days"] = "A number of days from 1 to 365."
        max_age = 0
    if errors:
        raise ValidationFailed("Correct the requirements marked below", field_errors=errors)
    return {
        "restricted_countries": restricted,
        "identity_documents": {"default": default, "by_country": by_country},
        "levels": levels,
        "proof_of_address_max_age_days": max_age,
    }


REQUIREMENTS_RULES = register_rule_kind(
    RuleKind(KIND, "KYC requirements", Permission.KYC_RULES_MANAGE, check)
)

# What an entity starts with (the demo and new entities publish it as version 1; edited in the UI after).
STARTING_POINT = {
    "restricted_countries": ["IR", "KP", "US"],
    "identity_documents": {"default": ["passport", "id_card", "driving_licence"], "by_country": {}},
    "levels": [
        {
            "code": "basic",
            "name": "Verified identity",
            "requires": ["email", "identity", "selfie", "screening"],
            "unlocks": ["demo", "live_trading", "deposits"],
            "deposit_limit": "2000.00",
        },
        {
            "code": "full",
            "name": "Fully verified",
            "requires": ["email", "identity", "selfie", "screening", "proof_of_address", "appropriateness"],
            "unlocks": ["demo", "live_trading", "deposits", "withdrawals"],
            "deposit_limit": "",
        },
    ],
    "proof_of_address_max_age_days": 90,
}


async def in_force(entity_id: int) -> dict | None:
    """The entity's published requirements ({"id", "version", "document", ...}), or None."""
    return await current(KIND, entity_id)


def identity_documents_for(document: dict | None, country: str) -> list[str]:
    """The identity documents accepted from residents of `country`."""
    if document is None:
        return list(IDENTITY_DOCUMENTS)
    accepted = document["identity_documents"]
    return accepted["by_country"].get((country or "").upper(), accepted["default"])


def is_restricted(document: dict | None, country: str) -> bool:
    return document is not None and (country or "").upper() in document["restricted_countries"]
