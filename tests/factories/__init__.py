"""Factories for test data: entities, staff users with role grants and sessions, clients."""

from __future__ import annotations

import datetime as dt
import itertools

import pyotp

from crm.clients.tables import Client
from crm.core.context import Actor
from crm.core.org.tables import AssignmentStatus, LegalEntity, Role, RoleAssignment, StaffUser
from crm.identity.credentials import hash_password, new_session_token
from crm.identity.tables import StaffSession

PASSWORD = "correct-horse-battery-9"
_counter = itertools.count(1)
_PASSWORD_HASH = hash_password(PASSWORD)


async def make_entity(code: str = "EU", name: str | None = None, regulator: str = "CySEC") -> int:
    row = await LegalEntity.select(LegalEntity.id).where(LegalEntity.code == code).first()
    if row:
        return row["id"]
    rows = await LegalEntity.insert(
        LegalEntity(
            code=code,
            name=name or f"Entity {code}",
            regulator=regulator,
            jurisdiction="CY",
            base_currency="EUR",
        )
    ).returning(LegalEntity.id)
    return rows[0]["id"]


async def make_user(
    email: str | None = None,
    *,
    roles: dict[str, list[str]] | None = None,
    enrolled: bool = True,
    full_name: str | None = None,
    must_change_password: bool = False,
) -> dict:
    """A staff user; `roles` maps entity code to role slugs, granted active with no end date."""
    n = next(_counter)
    email = email or f"user{n}@test.example"
    entities = {code: await make_entity(code) for code in (roles or {"EU": []})}
    secret = pyotp.random_base32() if enrolled else None
    rows = await StaffUser.insert(
        StaffUser(
            email=email,
            full_name=full_name or f"User {n}",
            home_entity=next(iter(entities.values())),
            password_hash=_PASSWORD_HASH,
            totp_secret=secret,
            must_change_password=must_change_password,
            mfa_enrolled_at=dt.datetime.now(dt.UTC) if enrolled else None,
        )
    ).returning(StaffUser.id)
    user_id = rows[0]["id"]
    for code, slugs in (roles or {}).items():
        for slug in slugs:
            role = await Role.select(Role.id).where(Role.slug == slug).first()
            await RoleAssignment.insert(
                RoleAssignment(
                    user=user_id,
                    role=role["id"],
                    entity=entities[code],
                    status=AssignmentStatus.ACTIVE,
                    reason="test",
                )
            )
    return {
        "id": user_id,
        "email": email,
        "totp_secret": secret,
        "entities": entities,
        "full_name": full_name or f"User {n}",
    }


async def make_session(user: dict) -> str:
    """A fully signed-in session (as after password + MFA); returns the cookie token."""
    token, token_hash = new_session_token()
    await StaffSession.insert(
        StaffSession(
            token_hash=token_hash,
            user=user["id"],
            mfa_verified=True,
            expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(hours=12),
        )
    )
    return token


async def make_client(entity_code: str = "EU", **fields) -> dict:
    n = next(_counter)
    entity_id = await make_entity(entity_code)
    values = (
        dict(
            reference=f"CL-T{n:05d}",
            entity=entity_id,
            first_name="Maria",
            last_name=f"Client{n}",
            email=f"maria{n}@example.com",
            phone=f"+35799{n:06d}",
            country="CY",
            id_number=f"ID{n:07d}",
            bank_account=f"CY0012345678{n:06d}",
        )
        | fields
    )
    rows = await Client.insert(Client(**values)).returning(*Client.all_columns())
    return rows[0]


async def actor_for(user: dict) -> Actor:
    from crm.core.org.grants import grants_for

    return Actor(user_id=user["id"], label=user["email"], grants=await grants_for(user["id"]))


async def make_dead_delivery(
    entity_id: int, *, subject_id: str = "S-1", subscriber: str = "test.subscriber", error: str = "timeout"
) -> int:
    """An event whose delivery to `subscriber` died after its attempts (what the dead-letter screen lists)."""
    from crm.core.db import current_connection, transaction

    async with transaction():
        return await current_connection().fetchval(
            """WITH e AS (INSERT INTO domain_event (name, entity_id, subject_type, subject_id, payload,
                                                    occurred_at)
                          VALUES ('thing.happened', $1, 'client', $2, '{}', now()) RETURNING id)
               INSERT INTO event_delivery (event, subscriber, status, attempts, next_attempt_at, last_error)
               SELECT id, $3, 'dead', 8, now(), $4 FROM e RETURNING id""",
            entity_id,
            subject_id,
            subscriber,
            error,
        )


async def make_dead_job(
    entity_id: int, *, job_name: str = "test.job", kwargs: dict | None = None, error: str = "down"
) -> int:
    """A background job buried after its last attempt."""
    import json

    from crm.core.db import current_connection, transaction

    async with transaction():
        return await current_connection().fetchval(
            """INSERT INTO dead_job (job_name, job_id, meta, kwargs, entity_id, attempts, last_error, status,
                                     created_at)
               VALUES ($1::text, $1::text || '-' || gen_random_uuid(), '{}', $2::jsonb, $3, 5, $4, 'dead',
                       now())
               RETURNING id""",
            job_name,
            json.dumps(kwargs or {}),
            entity_id,
            error,
        )


async def make_replay(entity_id: int, *, per_agent: dict | None = None) -> int:
    """A finished what-if replay of the routing rules."""
    import json

    from crm.core.db import current_connection, transaction

    result = {
        "total": 0,
        "per_agent": per_agent or {},
        "per_pool": {},
        "per_rule": {},
        "unassigned": 0,
        "different_owner": 0,
    }
    async with transaction():
        return await current_connection().fetchval(
            "INSERT INTO lead_routing_replay (entity_id, days, status, total, done, result, job_id, "
            "created_at, seconds) VALUES ($1, 7, 'done', 0, 0, $2::jsonb, 'x', now(), 0) RETURNING id",
            entity_id,
            json.dumps(result),
        )


async def make_screening_hit(client: dict, *, key: str | None = None) -> dict:
    """A strong hit for the client on a one-entry list named after them (an entry row of its own), raised as
    screening raises it: a match in the client's screening case."""
    from crm.core.db import transaction
    from crm.kyc.screening.clients import record_screening
    from crm.kyc.screening.matcher import Entry, Index

    n = next(_counter)
    name = f"{client['first_name']} {client['last_name']}"
    entry = Entry("test_list", key or f"T-{n}", "person", (name.upper(),), version=900_000 + n)
    async with transaction():
        return await record_screening(Actor.system("test"), client, Index([entry]).screen(name), full=False)
