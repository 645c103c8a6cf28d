"""Demo brands and a published privacy notice per entity, so the public form shows a brand and asks for a
recorded consent out of the box. Seeded once; afterwards they are edited in the UI like any others."""

from __future__ import annotations

from crm.core.db import current_connection, fetch, transaction

BRANDS = [
    (
        "aurora",
        "Aurora Markets",
        "#1d4ed8",
        "CFDs are complex instruments and come with a high risk of losing money rapidly due to leverage. "
        "74% of retail investor accounts lose money when trading CFDs with this provider. You should "
        "consider whether you understand how CFDs work and whether you can afford to take the high risk of "
        "losing your money.",
    ),
    (
        "borealis",
        "Borealis FX",
        "#0f766e",
        "Trading leveraged products carries a high level of risk and may not be suitable for all investors. "
        "You could lose more than your initial deposit.",
    ),
]

NOTICE = """## Who holds your data
{name} ("we"), regulated by {regulator}, is the controller of the personal data you give us on this form.

## What we collect and why
- Your name, e-mail address, phone number, country and preferred language, to contact you about opening a
  trading account.
- The date of birth you choose to give, to check that you are old enough to open an account.
- A referral code, if someone introduced you, to credit the introducing partner.
- The address of the device you used (IP address) and the time of your request, as a record of your consent.

## Legal basis
We process your details because you asked us to contact you (steps before a contract) and, for marketing,
only with your separate consent, which you can withdraw at any time.

## Who sees it
Our sales and compliance staff, on a need-to-know basis; every access to your contact details is recorded.
We do not sell your data.

## How long we keep it
If you do not open an account, we delete your details 24 months after our last contact, unless the law
requires us to keep them longer.

## Your rights
You may ask to see, correct or delete your data, object to its use, or withdraw consent, by writing to our
data protection officer. You may also complain to the data protection authority of your country."""


async def load_client_facing_demo(entities: dict[str, int]) -> int:
    """Seed the brands and a notice per entity when there are none; returns how many notices were added."""
    if await fetch("SELECT 1 FROM brand LIMIT 1"):
        return 0
    async with transaction():
        conn = current_connection()
        await conn.executemany(
            "INSERT INTO brand (code, name, accent, risk_warning, active, updated_at) "
            "VALUES ($1, $2, $3, $4, true, now())",
            BRANDS,
        )
        rows = await conn.fetch(
            "SELECT id, name, regulator FROM legal_entity WHERE id = ANY($1)", list(entities.values())
        )
        await conn.executemany(
            "INSERT INTO privacy_notice (entity, version, title, body, status, created_at, published_at) "
            "VALUES ($1, 1, 'Privacy notice for prospective clients', $2, 'published', now(), now()) "
            "ON CONFLICT DO NOTHING",
            [(r["id"], NOTICE.format(name=r["name"], regulator=r["regulator"])) for r in rows],
        )
    return len(rows)
