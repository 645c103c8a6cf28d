"""Domain events: written with the change, delivered after commit, retried, dead-lettered, exactly once in
effect."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

from crm.core.context import Actor
from crm.core.db import current_connection, transaction
from crm.core.events.dispatcher import dispatch_pending
from crm.core.events.service import emit, subscribe, unsubscribe
from crm.core.events.tables import AutomationRun, DomainEvent, EventDelivery

ACTOR = Actor(user_id=None, label="test", is_system=True)


@pytest.fixture
def recorder():
    seen: list[dict] = []

    @subscribe("test.recorder", "thing.happened")
    async def handle(event: dict) -> dict:
        seen.append(event)
        return {"ok": True, "case_id": "CASE-000001"}

    yield seen
    unsubscribe("test.recorder")


async def test_an_event_of_a_rolled_back_change_never_exists(recorder):
    with pytest.raises(RuntimeError):
        async with transaction():
            await emit(ACTOR, "thing.happened", subject_type="thing", subject_id=1)
            raise RuntimeError("the change failed")
    assert await DomainEvent.count() == 0 and await dispatch_pending() == 0 and recorder == []


async def test_delivered_once_with_an_automation_log(recorder):
    async with transaction():
        event_id = await emit(
            ACTOR,
            "thing.happened",
            entity_id=3,
            subject_type="thing",
            subject_id=7,
            payload={"amount": "10.50"},
        )
    assert await dispatch_pending() == 1
    assert await dispatch_pending() == 0  # done deliveries are not repeated
    assert [e["id"] for e in recorder] == [event_id] and recorder[0]["payload"] == {"amount": "10.50"}
    run = await AutomationRun.select().first().output(load_json=True)
    assert (
        run["automation"] == "test.recorder"
        and run["outcome"] == "ok"
        and run["trigger"] == f"event:{event_id}"
    )
    assert run["input"]["payload"] == {"amount": "10.50"} and run["output"]["ok"] is True
    assert run["case_id"] == "CASE-000001" and run["entity_id"] == 3


async def test_a_failing_subscriber_is_retried_then_dead_lettered_without_blocking_others(recorder):
    calls = []

    @subscribe("test.flaky", "thing.happened", max_attempts=3)
    async def flaky(event: dict) -> dict:
        calls.append(event["id"])
        await current_connection().execute("UPDATE legal_entity SET name = 'should roll back'")
        raise ValueError("PSP timeout")

    try:
        async with transaction():
            await emit(ACTOR, "thing.happened")
        await dispatch_pending()
        assert len(recorder) == 1 and len(calls) == 1  # the healthy subscriber was not held back
        for _ in range(2):
            await current_execute(
                "UPDATE event_delivery SET next_attempt_at = now() WHERE subscriber = 'test.flaky'"
            )
            await dispatch_pending()
        delivery = await EventDelivery.select().where(EventDelivery.subscriber == "test.flaky").first()
        assert (
            delivery["status"] == "dead"
            and delivery["attempts"] == 3
            and "PSP timeout" in delivery["last_error"]
        )
        outcomes = [
            r["outcome"]
            for r in await AutomationRun.select()
            .where(AutomationRun.automation == "test.flaky")
            .order_by(AutomationRun.id)
        ]
        assert outcomes == ["failed", "failed", "dead"]
    finally:
        unsubscribe("test.flaky")


async def current_execute(sql: str) -> None:
    async with transaction():
        await current_connection().execute(sql)


async def test_killing_the_worker_mid_batch_handles_every_event_exactly_once_in_effect(owner_execute):
    """300 events; a real `crm worker` is SIGKILLed while handling them, then restarted."""
    await owner_execute(
        f"CREATE TABLE IF NOT EXISTS test_effect (event_id bigint); TRUNCATE test_effect; "
        f"GRANT INSERT, SELECT ON test_effect TO {os.environ['CRM_DB_APP_ROLE']}"
    )
    import tests.plugins.effect_subscriber  # noqa: F401  (registers test.effect here too, for emit)

    async with transaction():
        for n in range(300):
            await emit(ACTOR, "test.tick", subject_id=n)
    root = str(Path(__file__).parents[2])
    env = dict(os.environ) | {
        "CRM_PLUGINS": "tests.plugins.effect_subscriber",
        "CRM_DB_POOL": "1",
        "PYTHONPATH": root,
    }
    crm = str(Path(sys.executable).parent / "crm")
    conn = await asyncpg.connect(os.environ["CRM_MIGRATE_DATABASE_URL"])
    try:
        first = subprocess.Popen(
            [crm, "worker"], env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + 60
        while await conn.fetchval("SELECT count(*) FROM test_effect") < 60 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        output = first.communicate()[0]
        partial = await conn.fetchval("SELECT count(*) FROM test_effect")
        assert 0 < partial < 300, output[-3000:]
        second = subprocess.Popen(
            [crm, "worker"], env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                pending = await conn.fetchval("SELECT count(*) FROM event_delivery WHERE status <> 'done'")
                if pending == 0:
                    break
                await asyncio.sleep(0.1)
        finally:
            second.terminate()
            second.wait(timeout=30)
        effects = await conn.fetch("SELECT event_id, count(*) AS n FROM test_effect GROUP BY event_id")
        assert len(effects) == 300 and all(r["n"] == 1 for r in effects)
    finally:
        await conn.close()


async def test_dead_letters_can_be_retried_or_discarded_on_the_record(app):
    from crm.core.audit.tables import AuditRecord
    from tests.factories import make_user
    from tests.http import StaffClient, text_of

    admin_user = await make_user(roles={"EU": ["system_admin"]})
    outsider = await make_user(roles={"INTL": ["system_admin"]})
    entity = admin_user["entities"]["EU"]
    healthy = {"now": False}

    @subscribe("test.sometimes", "thing.happened", max_attempts=1)
    async def sometimes(event: dict) -> dict:
        if not healthy["now"]:
            raise RuntimeError("downstream is down")
        return {"done": True}

    try:
        async with transaction():
            await emit(ACTOR, "thing.happened", entity_id=entity, subject_type="thing", subject_id=1)
            await emit(ACTOR, "thing.happened", entity_id=entity, subject_type="thing", subject_id=2)
        await dispatch_pending()
        dead = await EventDelivery.select().where(EventDelivery.status == "dead").order_by(EventDelivery.id)
        assert len(dead) == 2
        async with StaffClient(app) as http:
            await http.sign_in_as(outsider)
            assert "downstream is down" not in (await http.get("/admin/dead-letters")).text
            assert (
                await http.post(f"/admin/dead-letters/{dead[0]['id']}", {"decision": "retry", "reason": "x"})
            ).status_code == 404
            await http.sign_in_as(admin_user)
            page = await http.get("/admin/dead-letters")
            assert "downstream is down" in page.text
            no_reason = await http.post(
                f"/admin/dead-letters/{dead[0]['id']}", {"decision": "retry", "reason": ""}
            )
            assert no_reason.status_code == 422
            healthy["now"] = True
            assert (
                await http.post(
                    f"/admin/dead-letters/{dead[0]['id']}", {"decision": "retry", "reason": "PSP is back"}
                )
            ).status_code == 303
            assert (
                await http.post(
                    f"/admin/dead-letters/{dead[1]['id']}", {"decision": "discard", "reason": "duplicate"}
                )
            ).status_code == 303
            again = await http.post(
                f"/admin/dead-letters/{dead[1]['id']}", {"decision": "retry", "reason": "oops"}
            )
            assert again.status_code == 409
            await dispatch_pending()
            log = text_of(await http.get("/admin/automation?automation=test.sometimes"))
            assert "dead" in log and "ok" in log and "downstream is down" in log
        statuses = {
            d["id"]: d["status"]
            for d in await EventDelivery.select().where(EventDelivery.subscriber == "test.sometimes")
        }
        assert statuses == {dead[0]["id"]: "done", dead[1]["id"]: "discarded"}
        actions = [
            r["action"] for r in await AuditRecord.select(AuditRecord.action).order_by(AuditRecord.seq)
        ]
        assert actions == ["system:delivery:retry", "system:delivery:discard"]
    finally:
        unsubscribe("test.sometimes")


async def test_the_automation_log_links_a_case_only_for_who_may_open_it(app):
    import datetime as dt

    from crm.core.cases.service import open_case
    from crm.core.context import Actor
    from crm.core.db import transaction
    from crm.core.events.runs import log_run
    from tests.factories import make_user
    from tests.http import StaffClient

    sysadmin = await make_user(roles={"EU": ["system_admin"]})
    overseer = await make_user(roles={"EU": ["super_admin"]})
    eu = sysadmin["entities"]["EU"]
    async with transaction():
        case = await open_case(Actor.system("test"), "alert", entity_id=eu, title="Odd deposits")
    await log_run(
        "test.escalate",
        "test",
        entity_id=eu,
        output={"case_id": case["reference"]},
        started=dt.datetime.now(dt.UTC),
        duration_ms=1,
    )
    link = f'href="/cases/{case["reference"]}"'
    async with StaffClient(app) as http:
        await http.sign_in_as(sysadmin)  # sees automation, not cases
        page = await http.get("/admin/automation")
        assert case["reference"] in page.text and link not in page.text
        assert (await http.get(f"/cases/{case['reference']}")).status_code == 403
        await http.sign_in_as(overseer)
        page = await http.get("/admin/automation")
        assert link in page.text and (await http.get(f"/cases/{case['reference']}")).status_code == 200
