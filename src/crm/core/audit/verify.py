"""Verifying the audit chain, and signed checkpoints that make a rebuilt chain detectable."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import asdict, dataclass

import asyncpg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crm.core.audit.chain import (
    GENESIS_HASH,
    HASHED_FIELDS,
    SQL_ISO_OCCURRED_AT,
    canonical_from_values,
    chain_hash,
)

# seq, prev_hash, row_hash, then the hashed fields in order (occurred_at already as its canonical text).
_COLUMNS = ", ".join(("seq", "prev_hash", "row_hash", SQL_ISO_OCCURRED_AT, *HASHED_FIELDS[1:]))


@dataclass
class VerifyResult:
    ok: bool
    rows_checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Checkpoint:
    """A signed statement that the chain had `head_hash` at sequence `seq` (its row count)."""

    seq: int
    head_hash: str
    created_at: str
    public_key: str
    signature: str

    def message(self) -> bytes:
        return f"crm-audit-checkpoint\n{self.seq}\n{self.head_hash}\n{self.created_at}".encode()


async def _verify_range(
    conn: asyncpg.Connection, first: int, last: int, expected_prev: str, batch: int
) -> dict:
    """Check rows first..last: contiguous sequence, each link to the previous hash, each row's own hash."""
    expected_seq, checked = first, 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        cursor = await conn.cursor(
            f"SELECT {_COLUMNS} FROM audit_record WHERE seq BETWEEN $1 AND $2 ORDER BY seq",  # noqa: S608
            first,
            last,
        )
        while rows := await cursor.fetch(batch):
            for row in rows:
                values = list(row)
                seq, prev_hash, row_hash = values[0], values[1], values[2]
                if seq != expected_seq:
                    return {
                        "checked": checked,
                        "bad": expected_seq,
                        "problem": f"row {expected_seq} is missing (next is {seq})",
                    }
                if prev_hash != expected_prev:
                    return {"checked": checked, "bad": seq, "problem": "link to the previous row is broken"}
                if chain_hash(prev_hash, seq, canonical_from_values(values[3:])) != row_hash:
                    return {
                        "checked": checked,
                        "bad": seq,
                        "problem": "content does not match its hash (row was edited)",
                    }
                expected_prev, expected_seq, checked = row_hash, seq + 1, checked + 1
    if expected_seq != last + 1:
        return {
            "checked": checked,
            "bad": expected_seq,
            "problem": f"row {expected_seq} is missing (the chain head says {last})",
        }
    return {"checked": checked, "bad": None, "problem": None, "last_hash": expected_prev}


def _verify_range_in_process(dsn: str, first: int, last: int, expected_prev: str, batch: int) -> dict:
    import asyncio

    async def run() -> dict:
        conn = await asyncpg.connect(dsn)
        try:
            return await _verify_range(conn, first, last, expected_prev, batch)
        finally:
            await conn.close()

    return asyncio.run(run())


async def verify_chain(
    conn: asyncpg.Connection,
    *,
    dsn: str | None = None,
    workers: int = 1,
    min_rows_per_worker: int = 100_000,
    batch: int = 5_000,
) -> VerifyResult:
    """Walk the chain up to its head; name the first row whose link or content does not check out.

    Catches an edited row (its hash no longer matches), a deleted row (a gap, or a broken link), an inserted
    row (a broken link), a cut tail (fewer rows than the head names) and rows appended outside the chain
    (a sequence beyond the head, as a database owner bypassing the triggers could write). With `workers` > 1
    (and a `dsn`), sequence ranges are checked in parallel processes; each range starts from the stored hash
    of the row before it, which the previous range proves, so the whole chain is still checked link by link.
    """
    head = await conn.fetchrow("SELECT seq, row_hash FROM audit_chain_head WHERE id = 1")
    total = head["seq"] if head else 0
    parts = max(1, min(workers, total // max(1, min_rows_per_worker))) if dsn else 1
    bounds = [(total * i // parts + 1, total * (i + 1) // parts) for i in range(parts)]
    starts = [GENESIS_HASH]
    for first, _ in bounds[1:]:
        starts.append(
            await conn.fetchval("SELECT row_hash FROM audit_record WHERE seq = $1", first - 1) or ""
        )
    if parts == 1:
        results = [await _verify_range(conn, 1, total, GENESIS_HASH, batch)] if total else []
    else:
        import asyncio
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(parts, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = await asyncio.gather(
                *(
                    loop.run_in_executor(pool, _verify_range_in_process, dsn, first, last, start, batch)
                    for (first, last), start in zip(bounds, starts, strict=True)
                )
            )
    checked = 0
    for result in results:
        checked += result["checked"]
        if result["bad"] is not None:
            return _bad(checked, head, result["bad"], result["problem"])
    last_hash = results[-1]["last_hash"] if results else GENESIS_HASH
    if head is None or last_hash != head["row_hash"]:
        return _bad(checked, head, total, "chain head does not match the last row")
    beyond = await conn.fetchrow(
        "SELECT count(*) AS n, min(seq) AS first FROM audit_record WHERE seq > $1 OR seq < 1", total
    )
    if beyond["n"]:
        return _bad(
            checked,
            head,
            beyond["first"],
            f"{beyond['n']} row(s) outside the chain (sequence beyond the head at {total}, or below 1): "
            "written around the audit writer",
        )
    return VerifyResult(True, checked, total, head["row_hash"])


def _bad(checked: int, head, seq: int, problem: str) -> VerifyResult:
    return VerifyResult(
        False, checked, head["seq"] if head else 0, head["row_hash"] if head else "", seq, problem
    )


def load_signing_key(raw: str) -> Ed25519PrivateKey:
    """Read a base64 raw Ed25519 private key (as written by `crm audit keygen`)."""
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(raw))


def new_signing_key() -> str:
    from cryptography.hazmat.primitives import serialization

    key = Ed25519PrivateKey.generate()
    raw = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()


def _public_b64(key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


async def make_checkpoint(conn: asyncpg.Connection, key: Ed25519PrivateKey) -> Checkpoint:
    """Sign the current head (hash and row count) for safe keeping outside the database."""
    head = await conn.fetchrow("SELECT seq, row_hash FROM audit_chain_head WHERE id = 1")
    created = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    checkpoint = Checkpoint(head["seq"], head["row_hash"], created, _public_b64(key), "")
    checkpoint.signature = base64.b64encode(key.sign(checkpoint.message())).decode()
    return checkpoint


async def check_checkpoint(
    conn: asyncpg.Connection, checkpoint: Checkpoint, trusted_public_key: str | None = None
) -> str | None:
    """Return None when the chain still holds the signed hash at the signed position, else the problem."""
    public_key = trusted_public_key or checkpoint.public_key
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key)).verify(
            base64.b64decode(checkpoint.signature), checkpoint.message()
        )
    except (InvalidSignature, ValueError):
        return "checkpoint signature is not valid for the trusted key"
    stored = await conn.fetchval("SELECT row_hash FROM audit_record WHERE seq = $1", checkpoint.seq)
    if stored is None:
        return f"row {checkpoint.seq} named by the checkpoint no longer exists"
    if stored != checkpoint.head_hash:
        return f"row {checkpoint.seq} hash differs from the checkpoint (chain was rebuilt)"
    return None
