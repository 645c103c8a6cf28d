"""Verifying the audit chain, and signed checkpoints that make a rebuilt chain detectable."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import asdict, dataclass

import asyncpg
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from crm.core.audit.chain import GENESIS_HASH, HASHED_FIELDS, canonical_content, chain_hash

_COLUMNS = ", ".join(("seq", "prev_hash", "row_hash", *HASHED_FIELDS))


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


async def verify_chain(conn: asyncpg.Connection, batch: int = 20_000) -> VerifyResult:
    """Walk the whole chain in order; name the first row whose link or content does not check out.

    Catches an edited row (its hash no longer matches), a deleted row (a gap in the sequence, or a broken
    link), an inserted row (a broken link) and a cut tail (the head row disagrees with the last row).
    """
    expected_prev, expected_seq, checked = GENESIS_HASH, 1, 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        head = await conn.fetchrow("SELECT seq, row_hash FROM audit_chain_head WHERE id = 1")
        cursor = await conn.cursor(f"SELECT {_COLUMNS} FROM audit_record ORDER BY seq")  # noqa: S608
        while rows := await cursor.fetch(batch):
            for row in rows:
                seq = row["seq"]
                if seq != expected_seq:
                    return _bad(checked, head, expected_seq, f"row {expected_seq} is missing (next is {seq})")
                if row["prev_hash"] != expected_prev:
                    return _bad(checked, head, seq, "link to the previous row is broken")
                values = dict(row)
                for name in ("before", "after"):
                    if values[name] is not None:
                        values[name] = json.loads(values[name])
                if chain_hash(row["prev_hash"], seq, canonical_content(values)) != row["row_hash"]:
                    return _bad(checked, head, seq, "content does not match its hash (row was edited)")
                expected_prev, expected_seq, checked = row["row_hash"], seq + 1, checked + 1
    if head is None or head["seq"] != checked or head["row_hash"] != expected_prev:
        return _bad(checked, head, checked + 1, "chain head does not match the last row (rows removed from the end)")
    return VerifyResult(True, checked, head["seq"], head["row_hash"])


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
