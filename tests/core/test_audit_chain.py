"""The audit trail: same-transaction writes, append-only enforcement, tamper detection, checkpoints."""

import json
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from crm.core.audit.chain import canonical_content, chain_hash
from crm.core.audit.service import record_audit
from crm.core.audit.verify import check_checkpoint, load_signing_key, make_checkpoint, verify_chain
from crm.core.context import Actor, RequestMeta
from crm.core.db import transaction

ACTOR = Actor(
    user_id=7,
    label="Test Admin <admin@test.example>",
    meta=RequestMeta(ip="10.0.0.9", user_agent="pytest", request_id="req-1", session_id="42"),
)


async def write_rows(n: int) -> None:
    for i in range(n):
        async with transaction():
            await record_audit(
                ACTOR,
                "test:thing:change",
                target_type="thing",
                target_id=i,
                entity_id=1,
                before={"amount": "10.00", "n": i},
                after={"amount": "12.50", "note": "ünïcode"},
                reason="because",
                case_id="CASE-000001",
            )


async def owner_conn() -> asyncpg.Connection:
    return await asyncpg.connect(os.environ["CRM_MIGRATE_DATABASE_URL"])


async def app_conn() -> asyncpg.Connection:
    return await asyncpg.connect(os.environ["CRM_DATABASE_URL"])


async def tamper(sql: str, *args) -> None:
    """Change the table as a superuser who switched the append-only triggers off (an insider attack)."""
    conn = await owner_conn()
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def verify(workers: int = 1) -> dict:
    conn = await owner_conn()
    try:
        result = await verify_chain(
            conn, dsn=os.environ["CRM_MIGRATE_DATABASE_URL"], workers=workers, min_rows_per_worker=2
        )
        return result.as_dict()
    finally:
        await conn.close()


async def test_rows_chain_and_verify():
    await write_rows(5)
    result = await verify()
    assert result["ok"] and result["rows_checked"] == 5 and result["head_seq"] == 5
    conn = await owner_conn()
    rows = await conn.fetch("SELECT * FROM audit_record ORDER BY seq")
    await conn.close()
    assert rows[0]["prev_hash"] == "0" * 64
    assert all(rows[i]["prev_hash"] == rows[i - 1]["row_hash"] for i in range(1, 5))
    assert (
        rows[2]["ip"] == "10.0.0.9"
        and rows[2]["request_id"] == "req-1"
        and rows[2]["case_id"] == "CASE-000001"
    )


async def test_the_database_hashes_exactly_as_the_python_definition():
    """The writer hashes in PostgreSQL; the definition (and the verifier) is chain.py: awkward text must
    agree."""
    awkward = 'quote " backslash \\ newline \n tab \t NUL \x00 emoji 🦊 ünïcode 中文 </script>'
    async with transaction():
        seq = await record_audit(
            ACTOR,
            "test:thing:change",
            target_type="thing",
            target_id=awkward,
            entity_id=1,
            before={"k": awkward, "n": 1.5, "z": None},
            after=[awkward],
            reason=awkward,
        )
    conn = await owner_conn()
    row = await conn.fetchrow("SELECT * FROM audit_record WHERE seq = $1", seq)
    await conn.close()
    assert seq == 1 and row["row_hash"] == chain_hash(row["prev_hash"], seq, canonical_content(dict(row)))
    assert (await verify())["ok"]


async def test_rolled_back_change_leaves_no_audit_row():
    with pytest.raises(RuntimeError):
        async with transaction():
            await record_audit(ACTOR, "test:thing:change", target_type="thing")
            raise RuntimeError("business rule failed after the audit write")
    assert (await verify())["rows_checked"] == 0


async def test_audit_write_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside"):
        await record_audit(ACTOR, "test:thing:change", target_type="thing")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_record SET reason = 'nothing to see' WHERE seq = 1",
        "DELETE FROM audit_record WHERE seq = 1",
        "TRUNCATE audit_record",
    ],
)
async def test_app_role_and_owner_cannot_rewrite_history(statement):
    await write_rows(1)
    conn = await app_conn()
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    finally:
        await conn.close()
    conn = await owner_conn()  # even the owner is stopped by the triggers
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.mark.parametrize("workers", [1, 2])
async def test_edited_row_is_named(workers):
    await write_rows(6)
    await tamper("UPDATE audit_record SET reason = 'edited' WHERE seq = 4")
    result = await verify(workers)
    assert not result["ok"] and result["first_bad_seq"] == 4 and "edited" in result["problem"]


@pytest.mark.parametrize("workers", [1, 2])
async def test_deleted_row_is_named(workers):
    await write_rows(6)
    await tamper("DELETE FROM audit_record WHERE seq = 3")
    result = await verify(workers)
    assert not result["ok"] and result["first_bad_seq"] == 3 and "missing" in result["problem"]


@pytest.mark.parametrize("workers", [1, 2])
async def test_inserted_row_is_detected(workers):
    await write_rows(4)
    # Make room after row 2 and slip in a plausible row whose own hash is consistent.
    await tamper("UPDATE audit_record SET seq = seq + 1000 WHERE seq > 2")
    await tamper("UPDATE audit_record SET seq = seq - 999 WHERE seq > 1000")
    await tamper("""INSERT INTO audit_record (seq, occurred_at, actor_label, action, target_type, prev_hash,
                                              row_hash)
                    SELECT 3, occurred_at, 'ghost', 'access:assignment:grant', 'staff_user', row_hash, 'x'
                    FROM audit_record WHERE seq = 2""")
    result = await verify(workers)
    assert not result["ok"] and result["first_bad_seq"] in (3, 4)


@pytest.mark.parametrize("workers", [1, 2])
async def test_cut_tail_is_detected(workers):
    await write_rows(5)
    await tamper("DELETE FROM audit_record WHERE seq = 5")
    result = await verify(workers)
    assert not result["ok"] and result["first_bad_seq"] == 5 and "missing" in result["problem"]


@pytest.mark.parametrize("workers", [1, 2])
async def test_a_row_appended_beyond_the_head_is_detected(workers):
    """The owner bypasses the triggers and appends a row past the chain head with a made-up hash."""
    await write_rows(4)
    await tamper("""INSERT INTO audit_record (seq, occurred_at, actor_label, action, target_type, prev_hash,
                                              row_hash)
                    SELECT 9, occurred_at, 'ghost', 'access:assignment:grant', 'staff_user', row_hash, 'x'
                    FROM audit_record WHERE seq = 4""")
    result = await verify(workers)
    assert not result["ok"] and result["first_bad_seq"] == 9 and "outside the chain" in result["problem"]


async def test_checkpoint_detects_a_rebuilt_chain(settings):
    await write_rows(5)
    conn = await owner_conn()
    try:
        checkpoint = await make_checkpoint(conn, load_signing_key(settings.audit_signing_key))
        assert await check_checkpoint(conn, checkpoint) is None
        # The insider edits row 2 and recomputes every later hash: the chain verifies again ...
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("UPDATE audit_record SET reason = 'rewritten' WHERE seq = 2")
        prev = (await conn.fetchrow("SELECT row_hash FROM audit_record WHERE seq = 1"))["row_hash"]
        for row in await conn.fetch("SELECT * FROM audit_record WHERE seq >= 2 ORDER BY seq"):
            new_hash = chain_hash(prev, row["seq"], canonical_content(row))
            await conn.execute(
                "UPDATE audit_record SET prev_hash = $1, row_hash = $2 WHERE seq = $3",
                prev,
                new_hash,
                row["seq"],
            )
            prev = new_hash
        await conn.execute("UPDATE audit_chain_head SET row_hash = $1", prev)
        assert (await verify_chain(conn)).ok
        # ... but not against the checkpoint signed before the rewrite.
        problem = await check_checkpoint(conn, checkpoint)
        assert problem and "rebuilt" in problem
        checkpoint.head_hash = prev  # a forged checkpoint fails its signature
        assert "signature" in await check_checkpoint(conn, checkpoint)
    finally:
        await conn.close()


async def test_cli_verify_reports_and_exits_nonzero(tmp_path: Path):
    await write_rows(3)
    crm = str(Path(sys.executable).parent / "crm")
    ok = subprocess.run(
        [crm, "audit", "checkpoint", "--out", str(tmp_path / "cp.json")], capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr
    good = subprocess.run(
        [crm, "audit", "verify", "--checkpoint", str(tmp_path / "cp.json")], capture_output=True, text=True
    )
    assert good.returncode == 0 and json.loads(good.stdout)["ok"] is True
    await tamper("UPDATE audit_record SET actor_label = 'someone else' WHERE seq = 2")
    bad = subprocess.run([crm, "audit", "verify"], capture_output=True, text=True)
    assert bad.returncode == 1 and json.loads(bad.stdout)["first_bad_seq"] == 2


def test_checkpoint_uses_the_key_crm_run_made_on_the_embedded_default(tmp_path: Path):
    from crm.cli import _embedded_signing_key
    from crm.devstack import dev_secrets

    assert _embedded_signing_key(tmp_path) == ""
    made = dev_secrets(tmp_path)["CRM_AUDIT_SIGNING_KEY"]
    assert _embedded_signing_key(tmp_path) == made and load_signing_key(made)
