"""Clients screened against the lists, and what a hit starts. A hit on an entry row the client was not raised
on before becomes a match to review, in the client's open screening case (opened for the compliance queue when
there is none). A match once decided is never raised again for the same entry row; a changed entry is a new
row, so it is raised afresh. Where a client stands (clear, hits to review, confirmed) is kept with the
client's last screened name, date of birth and country, so a profile change is screened again."""

from __future__ import annotations

import datetime as dt
import json

from crm.core.audit.service import record_audit
from crm.core.cases.kinds import CaseKind, register_case_kind
from crm.core.cases.service import add_entry, open_case
from crm.core.cases.tables import CaseStatus
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.events.service import emit
from crm.kyc.screening.matcher import Hit, Index
from crm.kyc.screening.service import current_index
from crm.kyc.tables import MatchStatus, ScreeningStatus
from crm.kyc.tags import KycTag

SCREENING_CASE = register_case_kind(
    CaseKind("kyc.screening", "Screening hit", 2, dt.timedelta(hours=24), "compliance")
)
UNDECIDED = (MatchStatus.OPEN, MatchStatus.CLEARING)
CLIENT_COLUMNS = "id, reference, entity, first_name, last_name, date_of_birth, country, owner"


def screened_as(client: dict) -> tuple[str, dt.date | None, str]:
    """The name, date of birth and country a client is screened as."""
    name = f"{client['first_name']} {client['last_name']}".strip()
    return name, client["date_of_birth"], (client["country"] or "").upper()


def screen(index: Index, client: dict) -> list[Hit]:
    name, dob, country = screened_as(client)
    return index.screen(name, dob=dob, country=country)


async def screen_client(actor: Actor, client_id: int) -> dict:
    """Screen one client against every current list entry now and record what is new."""
    index = await current_index()
    async with transaction():
        client = await current_connection().fetchrow(
            f"SELECT {CLIENT_COLUMNS} FROM client WHERE id = $1",  # noqa: S608 (fixed columns)
            client_id,
        )
        if client is None:
            return {"client_id": client_id, "missing": True}
        return await record_screening(actor, dict(client), screen(index, dict(client)))


async def _list_kinds() -> dict[str, str]:
    return {r["code"]: r["kind"] for r in await fetch("SELECT code, kind FROM watchlist")}


async def record_screening(actor: Actor, client: dict, hits: list[Hit], *, full: bool = True) -> dict:
    """In the caller's transaction: raise the hits this client was not raised on before, and keep where the
    client stands. `full=False` for a screen against part of the lists (a delta re-screen): the screened name
    and time then stay as the last full screen left them."""
    conn = current_connection()
    name, dob, country = screened_as(client)
    state = await conn.fetchrow(
        "INSERT INTO client_screening (client, entity, status, screened_name, screened_dob, "
        "screened_country, screened_at, open_matches) VALUES ($1, $2, 'clear', $3, $4, $5, now(), 0) "
        "ON CONFLICT (client) DO UPDATE SET entity = EXCLUDED.entity RETURNING *",
        client["id"],
        client["entity"],
        name,
        dob,
        country,
    )  # also locks the client's screening: two screens of one client raise a hit once
    if full:
        await conn.execute(
            "UPDATE client_screening SET screened_name = $2, screened_dob = $3, screened_country = $4, "
            "screened_at = now() WHERE client = $1",
            client["id"],
            name,
            dob,
            country,
        )
    known = {
        r["entry_row"]
        for r in await conn.fetch("SELECT entry_row FROM screening_match WHERE client = $1", client["id"])
    }
    fresh = [h for h in hits if h.entry.version is not None and h.entry.version not in known]
    reference = state["case_reference"]
    if fresh:
        reference = await _raise(actor, client, fresh, reference)
    status = await settle_client(actor, client["id"])
    return {
        "client_id": client["id"],
        "hits": len(hits),
        "raised": len(fresh),
        "case_reference": reference,
        "status": status,
    }


async def _open_case_for(actor: Actor, client: dict, reference: str | None, strong: bool) -> dict:
    """The client's open screening case, or a new one for the compliance queue."""
    conn = current_connection()
    if reference:
        case = await conn.fetchrow(
            "SELECT * FROM work_case WHERE reference = $1 AND status NOT IN ('resolved', 'closed') "
            "FOR UPDATE",
            reference,
        )
        if case:
            return dict(case)
    name, _, _ = screened_as(client)
    case = await open_case(
        actor,
        SCREENING_CASE.name,
        entity_id=client["entity"],
        title=f"Screening hit: {client['reference']} {name}",
        subjects=[("client", str(client["id"]), client["reference"]), ("screening", str(client["id"]), name)],
        priority=1 if strong else None,
        audited_by_caller=True,
    )
    await conn.execute(
        "UPDATE client_screening SET case_reference = $2 WHERE client = $1", client["id"], case["reference"]
    )
    return case


async def _raise(actor: Actor, client: dict, hits: list[Hit], reference: str | None) -> str:
    conn = current_connection()
    kinds = await _list_kinds()
    case = await _open_case_for(actor, client, reference, any(h.strong for h in hits))
    explained = [h.explain() for h in hits]
    await conn.executemany(
        "INSERT INTO screening_match (client, entity, list_code, list_kind, entry_key, entry_row, "
        "entry_name, score, strong, explanation, status, case_reference, found_at, decision_reason) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, 'open', $11, now(), '') "
        "ON CONFLICT (client, entry_row) DO NOTHING",
        [
            (
                client["id"],
                client["entity"],
                h.entry.list_code,
                kinds.get(h.entry.list_code, "sanctions"),
                h.entry.key,
                h.entry.version,
                h.entry.names[0][:300],
                round(h.score, 3),
                h.strong,
                json.dumps(e, ensure_ascii=False),
                case["reference"],
            )
            for h, e in zip(hits, explained, strict=True)
        ],
    )
    summary = [
        {
            "list": e["list"],
            "entry": e["entry"],
            "name": e["entry_name"],
            "score": e["score"],
            "strong": e["strong"],
        }
        for e in explained
    ]
    await add_entry(
        case,
        actor,
        "screening",
        f"{len(hits)} new screening hit{'s' if len(hits) > 1 else ''}: "
        + "; ".join(f"{s['name']} ({s['list']} {s['entry']}, score {s['score']})" for s in summary),
        {"hits": summary},
    )
    await record_audit(
        actor,
        KycTag.SCREENING_HIT,
        target_type="client",
        target_id=client["id"],
        target_label=client["reference"],
        entity_id=client["entity"],
        client_id=client["id"],
        after={"hits": summary},
        case_id=case["reference"],
    )
    await emit(
        actor,
        "kyc.screening.hit",
        entity_id=client["entity"],
        subject_type="client",
        subject_id=client["id"],
        payload={"client_id": client["id"], "case": case["reference"], "hits": summary},
    )
    return case["reference"]


async def settle_client(actor: Actor, client_id: int) -> str:
    """Recount the client's undecided matches and set where the client stands; when nothing is left to decide,
    resolve the screening case (risk confirmed if any match was true). Returns the status."""
    from crm.core.cases.work import set_status

    conn = current_connection()
    counts = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE status = ANY($2::text[])) AS undecided, "
        "count(*) FILTER (WHERE status = 'true_match') AS true_matches "
        "FROM screening_match WHERE client = $1",
        client_id,
        list(UNDECIDED),
    )
    status = (
        ScreeningStatus.CONFIRMED
        if counts["true_matches"]
        else ScreeningStatus.REVIEW
        if counts["undecided"]
        else ScreeningStatus.CLEAR
    )
    reference = await conn.fetchval(
        "UPDATE client_screening SET status = $2, open_matches = $3 WHERE client = $1 "
        "RETURNING case_reference",
        client_id,
        status,
        counts["undecided"],
    )
    if reference and not counts["undecided"]:
        case = await conn.fetchrow("SELECT status FROM work_case WHERE reference = $1", reference)
        if case and case["status"] not in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
            await set_status(
                actor,
                reference,
                CaseStatus.RESOLVED,
                resolution="risk_confirmed" if counts["true_matches"] else "false_positive",
                reason="Every screening match of this case is decided",
            )
    return status


async def lapse_rows(actor: Actor, entry_rows: list[int]) -> int:
    """Matches nobody decided on entry rows a new list version ended (the entry changed or left the list):
    they lapse, with a note in their case; a changed entry is screened again as a new row."""
    if not entry_rows:
        return 0
    conn = current_connection()
    rows = await conn.fetch(
        "UPDATE screening_match SET status = 'lapsed', decided_at = now(), "
        "decision_reason = 'The list entry changed or was removed before a decision' "
        "WHERE entry_row = ANY($1::int[]) AND status = ANY($2::text[]) "
        "RETURNING id, client, entity, list_code, entry_key, entry_name, case_reference",
        entry_rows,
        list(UNDECIDED),
    )
    for row in rows:
        case = await conn.fetchrow("SELECT * FROM work_case WHERE reference = $1", row["case_reference"])
        if case:
            await add_entry(
                dict(case),
                actor,
                "screening",
                f"{row['entry_name']} ({row['list_code']} {row['entry_key']}) changed or left the list; "
                "the match lapsed",
            )
        await record_audit(
            actor,
            KycTag.MATCH_LAPSE,
            target_type="screening_match",
            target_id=row["id"],
            target_label=row["entry_name"],
            entity_id=row["entity"],
            client_id=row["client"],
            before={"status": "open"},
            after={"status": "lapsed"},
            case_id=row["case_reference"],
        )
    for client_id in sorted({r["client"] for r in rows}):
        await settle_client(actor, client_id)
    return len(rows)
