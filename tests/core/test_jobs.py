"""Background jobs: requested with the change, run by a real arq worker, retried with backoff,
dead-lettered."""

import pytest
from arq import create_pool

from crm.core.audit.tables import AuditRecord
from crm.core.context import Actor
from crm.core.db import transaction
from crm.core.events.dispatcher import dispatch_pending
from crm.core.events.tables import AutomationRun, DeadJob
from crm.core.jobs import _JOBS, enqueue, job
from crm.worker import redis_settings
from tests.conftest import run_worker
from tests.factories import make_user
from tests.http import StaffClient

ACTOR = Actor(user_id=None, label="test", is_system=True)
CALLS: list[tuple[str, int, dict]] = []


@pytest.fixture
def jobs():
    CALLS.clear()

    @job("test.ok")
    async def ok(run, n: int) -> dict:
        CALLS.append(("ok", run.attempt, {"n": n}))
        return {"doubled": n * 2}

    @job("test.flaky", max_attempts=3, retry_delay_s=0.01)
    async def flaky(run, fail_times: int) -> dict:
        CALLS.append(("flaky", run.attempt, {}))
        if run.attempt <= fail_times:
            raise RuntimeError(f"boom {run.attempt}")
        return {"attempt": run.attempt}

    yield
    for name in ("test.ok", "test.flaky"):
        _JOBS.pop(name, None)


@pytest.fixture
async def redis(settings):
    pool = await create_pool(redis_settings(settings))
    await pool.flushdb()
    yield pool
    await pool.aclose()


async def test_a_job_runs_only_if_its_change_committed_and_only_once(jobs, redis, settings):
    with pytest.raises(RuntimeError):
        async with transaction():
            await enqueue(ACTOR, "test.ok", n=1)
            raise RuntimeError("rolled back")
    async with transaction():
        event_id = await enqueue(ACTOR, "test.ok", entity_id=None, n=21)
    assert await dispatch_pending() == 1
    # the same request delivered again (e.g. a worker died after queueing) is refused by its job id
    from crm.core.jobs import hand_to_arq

    again = await hand_to_arq(
        {
            "id": event_id,
            "entity_id": None,
            "subject_type": "",
            "subject_id": "",
            "payload": {"job": "test.ok", "kwargs": {"n": 21}},
        }
    )
    assert again["queued"] is False
    await run_worker(settings)
    assert CALLS == [("ok", 1, {"n": 21})]
    run = (
        await AutomationRun.select()
        .where(AutomationRun.automation == "test.ok")
        .first()
        .output(load_json=True)
    )
    assert (
        run["outcome"] == "ok"
        and run["output"] == {"doubled": 42}
        and run["trigger"] == f"job:event-{event_id}"
    )


async def test_a_failing_job_is_retried_with_backoff_until_it_succeeds(jobs, redis, settings):
    async with transaction():
        await enqueue(ACTOR, "test.flaky", fail_times=2)
    await dispatch_pending()
    await run_worker(settings)
    assert [c[1] for c in CALLS] == [1, 2, 3]
    outcomes = [
        r["outcome"]
        for r in await AutomationRun.select()
        .where(AutomationRun.automation == "test.flaky")
        .order_by(AutomationRun.id)
    ]
    assert outcomes == ["failed", "failed", "ok"]
    assert await DeadJob.count() == 0


async def test_an_exhausted_job_is_dead_lettered_then_retried_or_discarded_with_a_reason(
    jobs, redis, settings, app
):
    async with transaction():
        await enqueue(ACTOR, "test.flaky", fail_times=99)
    await dispatch_pending()
    await run_worker(settings)
    assert len(CALLS) == 3
    dead = await DeadJob.select().first().output(load_json=True)
    assert dead["status"] == "dead" and dead["attempts"] == 3 and "boom 3" in dead["last_error"]
    assert dead["kwargs"] == {"fail_times": 99}

    admin = await make_user(roles={"EU": ["system_admin"]})
    async with StaffClient(app) as client:
        await client.sign_in_as(admin)
        page = await client.get("/admin/dead-letters")
        assert "test.flaky" in page.text and "boom 3" in page.text
        assert (
            await client.post(f"/admin/dead-jobs/{dead['id']}", {"decision": "retry", "reason": ""})
        ).status_code == 422
        ok = await client.post(
            f"/admin/dead-jobs/{dead['id']}", {"decision": "retry", "reason": "fixed the cause"}
        )
        assert ok.status_code == 303
        twice = await client.post(
            f"/admin/dead-jobs/{dead['id']}", {"decision": "discard", "reason": "again"}
        )
        assert twice.status_code == 409
    CALLS.clear()
    await dispatch_pending()
    await run_worker(settings)
    assert len(CALLS) == 3  # ran again with the same arguments (and died again)
    second = await DeadJob.select().where(DeadJob.status == "dead").first()
    async with StaffClient(app) as client:
        await client.sign_in_as(admin)
        assert (
            await client.post(
                f"/admin/dead-jobs/{second['id']}", {"decision": "discard", "reason": "obsolete"}
            )
        ).status_code == 303
    actions = [
        r["action"]
        for r in await AuditRecord.select(AuditRecord.action)
        .where(AuditRecord.action.like("system:job:%"))
        .order_by(AuditRecord.seq)
    ]
    assert actions == ["system:job:retry", "system:job:discard"]


async def test_a_job_lost_with_its_worker_on_the_last_attempt_is_dead_lettered(jobs, redis, settings):
    """arq starts a job again when its worker died mid-run; past the last attempt it is buried, not lost."""
    await redis.enqueue_job(
        "test.flaky", {"entity_id": None}, {"fail_times": 0}, _job_id="lost-1", _job_try=4
    )
    await run_worker(settings)
    assert CALLS == []
    dead = await DeadJob.select().first()
    assert dead["job_id"] == "lost-1" and "worker stopped" in dead["last_error"]
