"""Demo data for `crm run`: three legal entities, their desks, staff in every seeded role, and clients.

Idempotent: each piece is created only when missing. Demo accounts use the domain demo.example.
"""

from __future__ import annotations

import datetime as dt
import random

import pyotp

from crm.clients.tables import Client, ClientStatus
from crm.core.audit.service import record_audit
from crm.core.audit.tags import AccessTag
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import ValidationFailed
from crm.core.org.roles import ensure_system_roles
from crm.core.org.tables import AssignmentStatus, LegalEntity, Role, RoleAssignment, StaffUser, Team
from crm.identity.credentials import hash_password

DEMO_PASSWORD = "demo-password-2026"
DEMO_DOMAIN = "@demo.example"

ENTITIES = [
    ("EU", "Aurora Markets (Europe) Ltd", "CySEC", "CY", "EUR"),
    ("INTL", "Aurora Markets International Ltd", "FSA (Seychelles)", "SC", "USD"),
    ("UK", "Aurora Markets UK Ltd", "FCA", "GB", "GBP"),
]
ZONES = {"EU": "Asia/Nicosia", "INTL": "Indian/Mahe", "UK": "Europe/London"}
TEAMS = [
    ("EU", "Sales EN", "sales", "Europe", ["en"]),
    ("EU", "Compliance EU", "compliance", "Europe", ["en"]),
    ("EU", "Payments EU", "payments", "Europe", ["en"]),
    ("INTL", "Compliance INTL", "compliance", "Global", ["en", "es", "ar"]),
    ("INTL", "Sales LatAm", "sales", "LatAm", ["es", "pt"]),
    ("INTL", "Sales MENA", "sales", "MENA", ["ar", "en"]),
    ("INTL", "Dealing", "dealing", "Global", ["en"]),
    ("UK", "Sales UK", "sales", "UK", ["en"]),
]
# email, name, "role@ENTITY ..." (privileged grants get a 30-day window, as the rules require)
DEMO_USERS = [
    (f"admin{DEMO_DOMAIN}", "Alex Admin", "super_admin@EU super_admin@INTL super_admin@UK"),
    (f"sysadmin{DEMO_DOMAIN}", "Sam Sysadmin", "system_admin@EU system_admin@INTL system_admin@UK"),
    (f"compliance{DEMO_DOMAIN}", "Clara Compliance", "compliance_officer@EU compliance_officer@INTL"),
    (f"mlro{DEMO_DOMAIN}", "Maya MLRO", " ".join(f"compliance_officer@{e}" for e in ("EU", "INTL", "UK"))),
    (f"payments{DEMO_DOMAIN}", "Piotr Payments", "payments_officer@EU payments_officer@INTL"),
    (f"support{DEMO_DOMAIN}", "Sofia Support", "support_agent@EU support_agent@INTL"),
    (f"sales{DEMO_DOMAIN}", "Diego Sales", "sales_agent@INTL"),
    (f"dealer{DEMO_DOMAIN}", "Dana Dealer", "dealer@INTL"),
    (f"ibmanager{DEMO_DOMAIN}", "Ivo IB-Manager", "ib_manager@EU ib_manager@INTL"),
    (f"risk{DEMO_DOMAIN}", "Rui Risk", "risk_manager@EU risk_manager@INTL risk_manager@UK"),
    (f"auditor{DEMO_DOMAIN}", "Aisha Auditor", "auditor@EU auditor@INTL auditor@UK"),
    (f"uksales{DEMO_DOMAIN}", "Uma UK-Sales", "sales_agent@UK"),
    (f"lucia{DEMO_DOMAIN}", "Lucía Latam", "sales_agent@INTL"),
    (f"karim{DEMO_DOMAIN}", "Karim Mena", "sales_agent@INTL"),
    (f"sven{DEMO_DOMAIN}", "Sven Senior", "sales_agent@INTL"),
    (f"intllead{DEMO_DOMAIN}", "Teo Team-Lead", "sales_team_lead@INTL"),
    (f"emma{DEMO_DOMAIN}", "Emma EU-Sales", "sales_agent@EU"),
    (f"eulead{DEMO_DOMAIN}", "Elias EU-Lead", "sales_team_lead@EU sales_team_lead@UK"),
]
FIRST = [
    "Maria",
    "João",
    "Ahmed",
    "Elena",
    "Lucas",
    "Fatima",
    "Nikos",
    "Sara",
    "Omar",
    "Lena",
    "Carlos",
    "Yara",
]
LAST = ["Silva", "Haddad", "Papadopoulos", "García", "Rossi", "Novak", "Khalil", "Müller", "Costa", "Ivanova"]
# Clients whose names are on the demo lists (an OFAC SDN entry, a PEP): their screening cases wait in the
# compliance queue once `crm run` has imported the lists.
LISTED = [("Viktor", "Bout", "RU", dt.date(1967, 1, 13)), ("Bussma", "Bugis", "SA", dt.date(1985, 6, 2))]
PORTAL_CLIENT = f"client{DEMO_DOMAIN}"
COUNTRIES = {"EU": ["CY", "DE", "ES", "IT", "GR"], "INTL": ["BR", "MX", "AE", "SA", "ZA"], "UK": ["GB"]}


async def _ensure_entities() -> dict[str, int]:
    ids = {}
    for code, name, regulator, jurisdiction, currency in ENTITIES:
        row = await LegalEntity.select(LegalEntity.id).where(LegalEntity.code == code).first()
        if row is None:
            rows = await LegalEntity.insert(
                LegalEntity(
                    code=code,
                    name=name,
                    regulator=regulator,
                    jurisdiction=jurisdiction,
                    base_currency=currency,
                    time_zone=ZONES[code],
                )
            ).returning(LegalEntity.id)
            row = rows[0]
        ids[code] = row["id"]
    return ids


async def _ensure_user(actor: Actor, email: str, name: str, grants: str, entities: dict[str, int]) -> bool:
    if await StaffUser.exists().where(StaffUser.email == email):
        return False
    home = entities[grants.split()[0].split("@")[1]]
    rows = await StaffUser.insert(
        StaffUser(email=email, full_name=name, home_entity=home, password_hash=hash_password(DEMO_PASSWORD))
    ).returning(StaffUser.id)
    user_id = rows[0]["id"]
    await record_audit(
        actor,
        AccessTag.USER_CREATE,
        target_type="staff_user",
        target_id=user_id,
        target_label=email,
        entity_id=home,
        after={"email": email, "full_name": name},
        reason="demo data",
    )
    for grant in grants.split():
        slug, code = grant.split("@")
        role = await Role.select().where(Role.slug == slug).first()
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=30) if role["privileged"] else None
        await RoleAssignment.insert(
            RoleAssignment(
                user=user_id,
                role=role["id"],
                entity=entities[code],
                valid_until=until,
                status=AssignmentStatus.ACTIVE,
                reason="demo data",
            )
        )
        await record_audit(
            actor,
            AccessTag.ASSIGNMENT_GRANT,
            target_type="staff_user",
            target_id=user_id,
            target_label=f"{role['name']} for {name} in {code}",
            entity_id=entities[code],
            after={"role": slug, "entity": entities[code], "valid_until": until, "status": "active"},
            reason="demo data",
        )
    return True


async def _ensure_clients(entities: dict[str, int]) -> int:
    if await Client.count() > 0:
        return 0
    rng = random.Random(7)
    clients = []
    for n in range(1, 46):
        code = ("EU", "INTL", "UK")[n % 3]
        first, last = rng.choice(FIRST), rng.choice(LAST)
        clients.append(
            Client(
                reference=f"CL-{n:06d}",
                entity=entities[code],
                first_name=first,
                last_name=last,
                email=f"{first.lower()}.{last.lower()}{n}@example.com".encode("ascii", "ignore").decode(),
                phone=f"+357 99 {rng.randint(100000, 999999)}",
                country=rng.choice(COUNTRIES[code]),
                date_of_birth=dt.date(1960 + rng.randint(0, 40), rng.randint(1, 12), rng.randint(1, 28)),
                id_number=f"X{rng.randint(10_000_000, 99_999_999)}",
                bank_account=f"CY17002001280000001200{rng.randint(100000, 999999)}",
                status=rng.choice(list(ClientStatus)),
            )
        )
    for n, (first, last, country, born) in enumerate(LISTED, start=len(clients) + 1):
        clients.append(
            Client(
                reference=f"CL-{n:06d}",
                entity=entities["INTL"],
                first_name=first,
                last_name=last,
                email=f"client{n}@example.com",
                country=country,
                date_of_birth=born,
                status=ClientStatus.REGISTERED,
            )
        )
    clients.append(
        Client(
            reference=f"CL-{len(clients) + 1:06d}",
            entity=entities["INTL"],
            first_name="Carmen",
            last_name="Cliente",
            email=PORTAL_CLIENT,
            country="MX",
            date_of_birth=dt.date(1988, 9, 14),
            status=ClientStatus.REGISTERED,
            language="es",
        )
    )
    await Client.insert(*clients)
    client_id = (await Client.select(Client.id).where(Client.email == PORTAL_CLIENT).first())["id"]
    await current_connection().execute(
        "INSERT INTO client_account (client, email, password_hash, language, email_verified_at, "
        "failed_logins, created_at) VALUES ($1, $2, $3, 'es', now(), 0, now())",
        client_id,
        PORTAL_CLIENT,
        hash_password(DEMO_PASSWORD),
    )  # the client portal's demo sign-in (README)
    return len(clients)


async def _ensure_kyc_requirements(entities: dict[str, int]) -> None:
    """Each entity starts with the suggested KYC requirements in force (v1); compliance edits them after,
    under approval."""
    import json

    from crm.kyc.requirements import KIND, STARTING_POINT

    async with transaction():
        await current_connection().executemany(
            "INSERT INTO rule_version (kind, entity_id, version, status, document, note, created_at, "
            "published_at) SELECT $1::varchar, $2::int, 1, 'published', $3::jsonb, 'The demo start', "
            "now(), now() WHERE NOT EXISTS "
            "(SELECT 1 FROM rule_version WHERE kind = $1::varchar AND entity_id = $2::int)",
            [(KIND, entity_id, json.dumps(STARTING_POINT)) for entity_id in entities.values()],
        )


async def _ensure_portal_documents() -> None:
    """The portal's demo client has sent a passport and a selfie (generated photos), so the reviewer's screens
    and the evidence timeline have something to show."""
    from crm.kyc.documents.samples import document_photo
    from crm.kyc.documents.service import receive

    client = await fetch("SELECT id FROM client WHERE email = $1", PORTAL_CLIENT)
    if not client or await fetch("SELECT 1 FROM kyc_document WHERE client = $1", client[0]["id"]):
        return
    for kind in ("passport", "selfie"):
        await receive(
            Actor.system("demo"), client[0]["id"], kind, f"{kind}.jpg", document_photo(), source="portal"
        )


async def load_demo() -> str:
    """Create whatever demo data is missing; returns a one-line summary."""
    await ensure_system_roles()
    actor = Actor.system("demo")
    async with transaction():
        entities = await _ensure_entities()
        teams = 0
        for code, name, kind, region, languages in TEAMS:
            if not await Team.exists().where((Team.entity == entities[code]) & (Team.name == name)):
                await Team.insert(
                    Team(entity=entities[code], name=name, kind=kind, region=region, languages=languages)
                )
                teams += 1
        users = 0
        for email, name, grants in DEMO_USERS:
            users += await _ensure_user(actor, email, name, grants, entities)
        clients = await _ensure_clients(entities)
    from crm.clients.demo import load_client_facing_demo
    from crm.leads.demo import load_sales_demo

    await load_client_facing_demo(entities)
    await _ensure_kyc_requirements(entities)
    await _ensure_portal_documents()
    leads = await load_sales_demo(entities)
    from crm.leads.figures import refresh_figures

    await refresh_figures(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=366))
    return f"demo data: {teams} teams, {users} users, {clients} clients, {leads} sample leads added"


async def demo_totp_code(email: str) -> str:
    """The current TOTP code of an enrolled demo user; refuses any non-demo account."""
    email = email.strip().lower()
    if not email.endswith(DEMO_DOMAIN):
        raise ValidationFailed("Only demo accounts")
    user = await StaffUser.select(StaffUser.totp_secret).where(StaffUser.email == email).first()
    if user is None or not user["totp_secret"]:
        return "not enrolled yet: sign in first and the enrolment page shows the key"
    return pyotp.TOTP(user["totp_secret"]).now()


async def load_watchlists() -> str:
    """Import the OFAC SDN snapshot and the PEP sample from shared/data/sanctions when no list is there yet
    (the demo screens against real lists); a one-line summary."""
    from crm.kyc.screening.service import import_list
    from crm.settings import REPO_ROOT

    folder = REPO_ROOT.parent / "shared" / "data" / "sanctions"
    if await fetch("SELECT 1 FROM watchlist_version LIMIT 1"):
        return "watchlists: already imported"
    if not folder.exists():
        return f"watchlists: none imported ({folder} is not here)"
    done = []
    for code, name in (("ofac_sdn", "ofac-sdn-2024-05-03.csv"), ("pep_wikidata", "pep-wikidata-sa.ftm.json")):
        if (folder / name).exists():
            result = await import_list(Actor.system("demo"), code, (folder / name).read_bytes(), name)
            done.append(f"{code} {result.entries} entries")
    return "watchlists: " + ", ".join(done)
