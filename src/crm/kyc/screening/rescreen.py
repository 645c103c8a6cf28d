"""Re-screening, as background jobs. After a list import only the entries that moved matter: undecided matches
on entries that changed or left lapse, and every client is screened against an index of the added and changed
entries alone (a few hundred, so 100,000 clients take seconds). A scheduled full re-screen goes over every
client against every current entry. Both are idempotent: a hit already raised for an entry row is not raised
again, and a re-run finds nothing new."""

from __future__ import annotations

import asyncio
import json

from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.jobs import JobRun, enqueue, job
from crm.kyc.screening.clients import CLIENT_COLUMNS, lapse_rows, record_screening, screen, screened_as
from crm.kyc.screening.matcher import Entry, Index
from crm.kyc.screening.service import current_index

BATCH = 2_000


def _entry(row) -> Entry:
    fields = ("names", "birth_dates", "countries", "programs")
    return Entry(
        row["code"],
        row["entry_key"],
        row["kind"],
        *(tuple(json.loads(row[k])) for k in fields),
        version=row["id"],
    )


async def _clients_after(after_id: int) -> list[dict]:
    rows = await fetch(
        f"SELECT {CLIENT_COLUMNS} FROM client WHERE id > $1 ORDER BY id LIMIT {BATCH}",  # noqa: S608
        after_id,
    )
    return [dict(r) for r in rows]


async def _screen_all(run: JobRun, index: Index, *, full: bool) -> dict:
    """Every client, batch by batch: hits are recorded one client at a time; a full screen also notes, for the
    clients without hits, what they were screened as and when."""
    actor = run.actor
    total = (await fetch("SELECT count(*) AS n FROM client"))[0]["n"]
    done = raised = with_hits = 0
    after = 0
    while batch := await _clients_after(after):
        after = batch[-1]["id"]
        quiet = []
        found = await asyncio.to_thread(
            lambda b=batch: [screen(index, c) if index.entries else [] for c in b]
        )
        for client, hits in zip(batch, found, strict=True):
            if hits:
                with_hits += 1
                async with transaction():
                    raised += (await record_screening(actor, client, hits, full=full))["raised"]
            else:
                quiet.append(client)
        if full and quiet:
            await _note_screened(quiet)
        done += len(batch)
        await run.progress(done, total)
    return {"clients": done, "clients_with_hits": with_hits, "raised": raised}


async def _note_screened(clients: list[dict]) -> None:
    people = [screened_as(c) for c in clients]
    async with transaction():
        await current_connection().execute(
            "INSERT INTO client_screening (client, entity, status, screened_name, screened_dob, "
            "screened_country, screened_at, open_matches) SELECT c, e, 'clear', n, d, k, now(), 0 "
            "FROM unnest($1::int[], $2::int[], $3::text[], $4::date[], $5::text[]) AS t(c, e, n, d, k) "
            "ON CONFLICT (client) DO UPDATE SET screened_name = EXCLUDED.screened_name, "
            "screened_dob = EXCLUDED.screened_dob, screened_country = EXCLUDED.screened_country, "
            "screened_at = now()",
            [c["id"] for c in clients],
            [c["entity"] for c in clients],
            [p[0] for p in people],
            [p[1] for p in people],
            [p[2] for p in people],
        )


@job("kyc.rescreen_delta", max_attempts=3, timeout_s=3600, label="Re-screen clients against a list's changes")
async def rescreen_delta(run: JobRun, version_id: int) -> dict:
    """What a new list version changed, screened over every client."""
    fresh = await fetch(
        "SELECT e.id, w.code, e.entry_key, e.kind, e.names, e.birth_dates, e.countries, e.programs "
        "FROM watchlist_entry e JOIN watchlist w ON w.id = e.watchlist "
        "WHERE e.from_version = $1 AND e.to_version IS NULL",
        version_id,
    )
    ended = [r["id"] for r in await fetch("SELECT id FROM watchlist_entry WHERE to_version = $1", version_id)]
    async with transaction():
        lapsed = await lapse_rows(run.actor, ended)
    index = Index([_entry(r) for r in fresh])
    return {"version_id": version_id, "entries": len(fresh), "lapsed": lapsed} | await _screen_all(
        run, index, full=False
    )


@job("kyc.screen_client", max_attempts=5, label="Screen a client against the lists")
async def screen_one(run: JobRun, client_id: int) -> dict:
    """A new client (or one whose name, date of birth or country changed), screened now."""
    from crm.kyc.screening.clients import screen_client

    return await screen_client(run.actor, client_id)


@job("kyc.rescreen_all", max_attempts=3, timeout_s=3600, label="Full re-screen of every client")
async def rescreen_all(run: JobRun) -> dict:
    return await _screen_all(run, await current_index(), full=True)


async def schedule_full_rescreen() -> int:
    """The daily cron's part: ask for a full re-screen (one job; its run is in the automation log)."""
    async with transaction():
        await enqueue(Actor.system("kyc.rescreen_all"), "kyc.rescreen_all")
    return 1
