"""Watchlists in the database and screening against them. An import stores a new version: entries that are
new or changed get a row from this version, entries changed or gone have their row ended by it; the import
is audited with its counts. Screening uses an in-memory index of the current entries, built once per process
and rebuilt when a new version lands (one cheap query tells)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from crm.core.audit.service import record_audit
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.core.jobs import enqueue
from crm.kyc.screening.formats import FORMATS
from crm.kyc.screening.matcher import THRESHOLD, Entry, Hit, Index
from crm.kyc.tags import KycTag

LISTS = {  # the lists the demo and the CLI know by code; others are created by an import naming them
    "ofac_sdn": ("OFAC Specially Designated Nationals", "sanctions", "sdn"),
    "pep_wikidata": ("Politically exposed persons (Wikidata, OpenSanctions)", "pep", "ftm"),
}


def content_hash(entry: Entry) -> str:
    doc = [
        entry.kind,
        list(entry.names),
        list(entry.birth_dates),
        list(entry.countries),
        list(entry.programs),
    ]
    return hashlib.sha256(json.dumps(doc, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True)
class ImportResult:
    list_code: str
    version_id: int
    entries: int
    added: int
    changed: int
    removed: int
    moved_keys: tuple[str, ...]  # added, changed or removed: who a delta re-screen looks at

    def summary(self) -> dict:
        return {k: v for k, v in vars(self).items() if k != "moved_keys"}


async def import_list(
    actor: Actor,
    code: str,
    data: bytes,
    label: str,
    *,
    name: str = "",
    kind: str = "",
    fmt: str = "",
) -> ImportResult:
    """Store the list's file as its next version. The same file twice is refused (nothing changed)."""
    known = LISTS.get(code, ("", "", ""))
    name, kind, fmt = name or known[0] or code, kind or known[1] or "sanctions", fmt or known[2]
    if fmt not in FORMATS:
        raise ValidationFailed(f"Unknown list format {fmt!r}", field_errors={"format": ", ".join(FORMATS)})
    sha = hashlib.sha256(data).hexdigest()
    text = data.decode("utf-8", errors="replace")
    parsed = await asyncio.to_thread(FORMATS[fmt], text) if fmt == "sdn" else FORMATS[fmt](text, code)
    if not parsed:
        raise ValidationFailed(f"No entries could be read from this file as {fmt}")
    entries = {e.key: e for e in parsed}
    async with transaction():
        conn = current_connection()
        list_id = await conn.fetchval(
            "INSERT INTO watchlist (code, name, kind, format, created_at) VALUES ($1, $2, $3, $4, now()) "
            "ON CONFLICT (code) DO UPDATE SET name = watchlist.name RETURNING id",
            code,
            name,
            kind,
            fmt,
        )
        await conn.execute(
            "SELECT id FROM watchlist WHERE id = $1 FOR UPDATE", list_id
        )  # one import at a time
        if await conn.fetchval(
            "SELECT 1 FROM watchlist_version WHERE watchlist = $1 AND sha256 = $2", list_id, sha
        ):
            raise Conflict("This file was imported already: no new version")
        current = {
            r["entry_key"]: (r["id"], r["content_hash"])
            for r in await conn.fetch(
                "SELECT id, entry_key, content_hash FROM watchlist_entry "
                "WHERE watchlist = $1 AND to_version IS NULL",
                list_id,
            )
        }
        hashes = {k: content_hash(e) for k, e in entries.items()}
        added = [k for k in entries if k not in current]
        changed = [k for k in entries if k in current and current[k][1] != hashes[k]]
        removed = [k for k in current if k not in entries]
        version_id = await conn.fetchval(
            "INSERT INTO watchlist_version (watchlist, label, sha256, entries, added, changed, removed, "
            "imported_by, imported_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now()) RETURNING id",
            list_id,
            label[:120],
            sha,
            len(entries),
            len(added),
            len(changed),
            len(removed),
            actor.label[:200],
        )
        ended = [current[k][0] for k in (*changed, *removed)]
        if ended:
            await conn.execute(
                "UPDATE watchlist_entry SET to_version = $2 WHERE id = ANY($1::int[])", ended, version_id
            )
        fresh = [entries[k] for k in (*added, *changed)]
        if fresh:
            await conn.copy_records_to_table(
                "watchlist_entry",
                columns=[
                    "watchlist",
                    "entry_key",
                    "content_hash",
                    "kind",
                    "names",
                    "birth_dates",
                    "countries",
                    "programs",
                    "from_version",
                    "note",
                ],
                records=[
                    (
                        list_id,
                        e.key,
                        hashes[e.key],
                        e.kind,
                        json.dumps(list(e.names)),
                        json.dumps(list(e.birth_dates)),
                        json.dumps(list(e.countries)),
                        json.dumps(list(e.programs)),
                        version_id,
                        "",
                    )
                    for e in fresh
                ],
            )
        result = ImportResult(
            code,
            version_id,
            len(entries),
            len(added),
            len(changed),
            len(removed),
            tuple(sorted({*added, *changed, *removed})),
        )
        await record_audit(
            actor,
            KycTag.WATCHLIST_IMPORT,
            target_type="watchlist",
            target_id=code,
            target_label=f"{name} · {label}",
            after=result.summary() | {"sha256": sha},
        )
        await enqueue(  # kyc/screening/rescreen.py: runs once this version is committed
            actor,
            "kyc.rescreen_delta",
            subject_type="watchlist_version",
            subject_id=version_id,
            version_id=version_id,
        )
    return result


async def watchlists() -> list[dict]:
    """Every list with its latest version."""
    return [
        dict(r)
        for r in await fetch(
            "SELECT w.*, v.id AS version_id, v.label, v.entries, v.added, v.changed, v.removed, "
            "v.imported_at, "
            "(SELECT count(*) FROM watchlist_version x WHERE x.watchlist = w.id) AS versions "
            "FROM watchlist w LEFT JOIN LATERAL (SELECT * FROM watchlist_version WHERE watchlist = w.id "
            "ORDER BY id DESC LIMIT 1) v ON true ORDER BY w.kind DESC, w.name"
        )
    ]


async def versions(code: str) -> list[dict]:
    return [
        dict(r)
        for r in await fetch(
            "SELECT v.* FROM watchlist_version v JOIN watchlist w ON w.id = v.watchlist WHERE w.code = $1 "
            "ORDER BY v.id DESC",
            code,
        )
    ]


async def entries_named(version_ids: list[int], keys: list[str], code: str) -> dict[tuple[int, str], dict]:
    """The entry rows alive in each of the versions, for the keys: (version id, key) -> row."""
    rows = await fetch(
        "SELECT v.id AS version_id, e.entry_key, e.kind, e.names, e.birth_dates, e.countries, e.programs "
        "FROM unnest($1::int[]) AS v(id) JOIN watchlist w ON w.code = $3 JOIN watchlist_entry e "
        "ON e.watchlist = w.id AND e.from_version <= v.id AND (e.to_version IS NULL OR e.to_version > v.id) "
        "WHERE e.entry_key = ANY($2::text[])",
        version_ids,
        keys,
        code,
    )
    fields = ("names", "birth_dates", "countries", "programs")
    return {(r["version_id"], r["entry_key"]): dict(r) | {k: json.loads(r[k]) for k in fields} for r in rows}


async def diff(old_version_id: int, new_version_id: int) -> dict:
    """What changed from one version of a list to a later one: entries added, changed, removed (as keys)."""
    rows = await fetch(
        "SELECT id, watchlist FROM watchlist_version WHERE id = ANY($1::int[])",
        [old_version_id, new_version_id],
    )
    if len(rows) != 2 or rows[0]["watchlist"] != rows[1]["watchlist"] or old_version_id >= new_version_id:
        raise NotFound("Two versions of the same list, older first")
    alive = (  # the entry rows a version has: brought by it or before, not ended by it or before
        "SELECT entry_key, content_hash FROM watchlist_entry WHERE watchlist = $1 AND from_version <= $2 "
        "AND (to_version IS NULL OR to_version > $2)"
    )
    list_id = rows[0]["watchlist"]
    old = {r["entry_key"]: r["content_hash"] for r in await fetch(alive, list_id, old_version_id)}
    new = {r["entry_key"]: r["content_hash"] for r in await fetch(alive, list_id, new_version_id)}
    return {
        "added": sorted(k for k in new if k not in old),
        "changed": sorted(k for k in new if k in old and old[k] != new[k]),
        "removed": sorted(k for k in old if k not in new),
    }


_index: tuple[tuple, Index] | None = None
_lock = asyncio.Lock()


async def current_index() -> Index:
    """The index of every list's current entries, rebuilt when a version was imported since."""
    global _index
    stamp = tuple(
        (await fetch("SELECT coalesce(max(id), 0), count(*), max(imported_at) FROM watchlist_version"))[0]
    )
    if _index is not None and _index[0] == stamp:
        return _index[1]
    async with _lock:
        if _index is not None and _index[0] == stamp:
            return _index[1]
        rows = await fetch(
            "SELECT e.id, w.code, e.entry_key, e.kind, e.names, e.birth_dates, e.countries, e.programs "
            "FROM watchlist_entry e JOIN watchlist w ON w.id = e.watchlist WHERE e.to_version IS NULL"
        )
        entries = [
            Entry(
                r["code"],
                r["entry_key"],
                r["kind"],
                *(tuple(json.loads(r[k])) for k in ("names", "birth_dates", "countries", "programs")),
                version=r["id"],
            )
            for r in rows
        ]
        index = await asyncio.to_thread(Index, entries)
        _index = (stamp, index)
        return index


async def check(
    name: str, *, dob: dt.date | None = None, country: str = "", threshold: float = THRESHOLD
) -> list[Hit]:
    """Screen one name (a person) against every current list entry."""
    return (await current_index()).screen(name, dob=dob, country=country, threshold=threshold)
