"""The webhook inbox: signatures on the raw bytes with a timestamp window and rotated secrets, one row per
(provider, event id), a replay answered and ignored, processing in a real worker recorded on the row and in
the automation log, failures retried or refused, and the operator's screen (re-run and body reveal,
audited)."""

import dataclasses
import datetime as dt
import json

import httpx

from crm.core import jobs
from crm.core.audit.tables import AuditRecord
from crm.core.context import Actor
from crm.core.db import transaction
from crm.core.errors import ValidationFailed
from crm.core.events.tables import AutomationRun
from crm.core.inbox import service as inbox
from crm.core.inbox.signatures import BodyHmac, TimestampedHmac, Verification
from crm.core.inbox.tables import WebhookEvent
from crm.leads import sources
from crm.leads.tables import IntakeSource
from tests.conftest import run_jobs
from tests.factories import actor_for, make_user
from tests.http import StaffClient, text_of

SCHEME = TimestampedHmac()
SENT: list[dict] = []
CRASH_FIRST = set()  # event numbers whose first processing crashes


async def _flaky(event: inbox.InboxEvent) -> dict:
    """A test provider: crashes once for the numbers in CRASH_FIRST, refuses a body saying so, else records
    it."""
    payload = event.json()
    if payload.get("n") in CRASH_FIRST:
        CRASH_FIRST.discard(payload["n"])
        raise RuntimeError("the vendor's API timed out")
    if payload.get("refuse"):
        raise ValidationFailed("Unknown account", field_errors={"account": "Not ours."})
    SENT.append(payload)
    return {"seen": payload.get("n")}


TEST_PROVIDER = inbox.register_provider(inbox.Provider("test.flaky", "Test events", _flaky))


def test_timestamped_signatures_check_the_window_and_every_active_secret():
    body, now = b'{"a": 1}', 1_800_000_000
    header = {SCHEME.header: SCHEME.sign("new", body, now)}
    assert SCHEME.verify(body, header, ["new"], now=now).ok
    assert (
        SCHEME.verify(body, header, ["newer", "new"], now=now).secret_index == 1
    )  # the previous secret, rotated
    assert not SCHEME.verify(body, header, ["other"], now=now).ok
    assert not SCHEME.verify(body + b" ", header, ["new"], now=now).ok  # the raw bytes are signed
    stale = SCHEME.verify(body, header, ["new"], now=now + 301)
    assert not stale.ok and "tolerance 300 s" in stale.reason
    assert not SCHEME.verify(body, header, ["new"], now=now - 301).ok  # from the future, too
    assert SCHEME.verify(body, header, ["new"], now=now + 299).ok
    for broken in ("", "t=abc,v1=00", "v1=00", f"t={now}"):
        assert not SCHEME.verify(body, {SCHEME.header: broken}, ["new"], now=now).ok
    hub = BodyHmac()
    assert hub.verify(body, {hub.header: hub.sign("s", body)}, ["s"]).ok
    assert not hub.verify(body, {hub.header: hub.sign("s", body)[7:]}, ["s"]).ok  # without "sha256="


async def _source(**fields) -> tuple[dict, str, dict]:
    manager = await make_user(roles={"EU": ["sales_team_lead"]})
    source, secret = await sources.create_source(
        await actor_for(manager),
        name="Dialer",
        kind="telephony",
        entity_id=manager["entities"]["EU"],
        **fields,
    )
    return source, secret, manager


async def test_a_rotated_secret_works_for_a_day_then_stops(app):
    source, old, manager = await _source()
    new = await sources.rotate(await actor_for(manager), source["id"], "the old one was in a screenshot")
    body = json.dumps({"call_id": "x"}).encode()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://t") as http:
        with_old = await http.post(
            "/webhooks/calls/Dialer", content=body, headers={SCHEME.header: SCHEME.sign(old, body)}
        )
        assert with_old.status_code == 422  # past the signature: refused only for its shape
        with_new = await http.post(
            "/webhooks/calls/Dialer", content=body, headers={SCHEME.header: SCHEME.sign(new, body)}
        )
        assert with_new.status_code == 422
        await IntakeSource.update(
            {IntakeSource.previous_secret_until: dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)}
        ).where(IntakeSource.id == source["id"])
        expired = await http.post(
            "/webhooks/calls/Dialer", content=body, headers={SCHEME.header: SCHEME.sign(old, body)}
        )
        assert expired.status_code == 401 and "does not match" in expired.json()["error"]
        stale = await http.post(
            "/webhooks/calls/Dialer",
            content=body,
            headers={SCHEME.header: SCHEME.sign(new, body, 1_700_000_000)},
        )
        assert stale.status_code == 401 and "tolerance" in stale.json()["error"]
        unknown = await http.post(
            "/webhooks/calls/Nobody", content=body, headers={SCHEME.header: SCHEME.sign(new, body)}
        )
        assert unknown.status_code == 401
    rows = await WebhookEvent.select().order_by(WebhookEvent.id)
    assert [r["status"] for r in rows] == [
        "rejected"
    ] * 4  # kept with the reason; the unknown sender is not kept
    assert [r["verified"] for r in rows] == [True, True, False, False]
    assert "previous secret" in rows[0]["verification"] and "tolerance" in rows[3]["verification"]


async def _receive(n: int, event_id: str | None = None, **payload) -> inbox.Receipt:
    body = json.dumps({"n": n, **payload}).encode()
    return await inbox.receive(
        Actor.system("test"),
        provider=TEST_PROVIDER.name,
        endpoint="tests",
        entity_id=None,
        body=body,
        headers={"user-agent": "pytest"},
        scheme="timestamped",
        verification=Verification(True, "signature ok"),
        event_id=event_id,
    )


async def test_an_event_is_processed_once_and_its_outcome_recorded(settings):
    SENT.clear()
    first = await _receive(1, "evt-1")
    again = await _receive(1, "evt-1")
    by_body = await _receive(2)
    same_body = await _receive(2)
    assert (first.status, again.status, again.id) == ("received", "duplicate", first.id)
    assert same_body.status == "duplicate" and by_body.event_id.startswith("sha256:")
    await run_jobs(settings)
    assert sorted(p["n"] for p in SENT) == [1, 2]
    row = await WebhookEvent.select().where(WebhookEvent.id == first.id).first()
    assert row["status"] == "done" and json.loads(row["outcome"]) == {"seen": 1} and row["attempts"] == 1
    assert (
        await AutomationRun.count().where(
            (AutomationRun.automation == "inbox.process") & (AutomationRun.outcome == "ok")
        )
        == 2
    )
    async with transaction():  # a second delivery of the same job does nothing
        await jobs.enqueue(Actor.system("test"), "inbox.process", inbox_id=first.id)
    await run_jobs(settings)
    assert sorted(p["n"] for p in SENT) == [1, 2]
    assert (await AutomationRun.select().order_by(AutomationRun.id, ascending=False).first())["output"].find(
        '"skipped": "done"'
    ) >= 0


async def test_a_crash_is_retried_and_a_refusal_is_not(settings, monkeypatch):
    SENT.clear()
    monkeypatch.setitem(
        jobs._JOBS, "inbox.process", dataclasses.replace(jobs._JOBS["inbox.process"], retry_delay_s=0.2)
    )
    CRASH_FIRST.add(3)
    crashed = await _receive(3, "evt-crash")
    refused = await _receive(4, "evt-refused", refuse=True)
    await run_jobs(settings)  # the burst worker waits for the crash's retry; the refusal is final
    row = await WebhookEvent.select().where(WebhookEvent.id == crashed.id).first()
    assert row["status"] == "done" and row["attempts"] == 2 and [p["n"] for p in SENT] == [3]
    no = await WebhookEvent.select().where(WebhookEvent.id == refused.id).first()
    assert no["status"] == "failed" and no["error"] == "Unknown account" and no["attempts"] == 1
    assert json.loads(no["outcome"])["fields"] == {"account": "Not ours."}
    runs = (
        await AutomationRun.select()
        .where(AutomationRun.automation == "inbox.process")
        .order_by(AutomationRun.id)
    )
    assert sorted((r["outcome"], r["attempt"]) for r in runs) == [("failed", 1), ("failed", 1), ("ok", 2)]
    assert any("timed out" in r["error"] for r in runs) and any(r["error"] == "Unknown account" for r in runs)


async def test_operators_see_the_inbox_rerun_failures_and_reveal_bodies_with_a_reason(app, settings):
    SENT.clear()
    refused = await _receive(5, "evt-refused-5", refuse=True)
    await run_jobs(settings)
    admin = await make_user(roles={"EU": ["system_admin"]})
    auditor = await make_user(roles={"EU": ["auditor"]})
    risk = await make_user(roles={"EU": ["risk_manager", "system_admin"]})
    async with StaffClient(app) as http:
        await http.sign_in_as(admin)
        listing = await http.get("/admin/webhooks?status=failed")
        assert listing.status_code == 200 and "evt-refused-5" in text_of(listing)
        page = await http.get(f"/admin/webhooks/{refused.id}")
        assert (
            page.status_code == 200
            and "Unknown account" in text_of(page)
            and "Show the raw body" not in text_of(page)
        )
        no_reason = await http.post(
            f"/admin/webhooks/{refused.id}/rerun", data={"intent": "rerun", "reason": " "}
        )
        assert no_reason.status_code == 422 and "A reason is required" in text_of(no_reason)
        rerun = await http.post(
            f"/admin/webhooks/{refused.id}/rerun", data={"intent": "rerun", "reason": "the account was added"}
        )
        assert rerun.status_code == 303
        assert (
            await http.post(f"/admin/webhooks/{refused.id}/reveal", data={"reason": "x"})
        ).status_code == 403
        await http.sign_in_as(auditor)  # sees the inbox, may not re-run
        assert (await http.get(f"/admin/webhooks/{refused.id}")).status_code == 200
        assert (
            await http.post(f"/admin/webhooks/{refused.id}/rerun", data={"reason": "x"})
        ).status_code == 403
        await http.sign_in_as(risk)
        shown = await http.post(
            f"/admin/webhooks/{refused.id}/reveal", data={"intent": "reveal", "reason": "a complaint"}
        )
        assert shown.status_code == 200 and "&#34;refuse&#34;: true" in shown.text
    audit = {
        r["action"]: r for r in await AuditRecord.select().where(AuditRecord.target_type == "webhook_event")
    }
    assert set(audit) == {"system:webhook:rerun", "system:webhook:reveal"}
    assert audit["system:webhook:rerun"]["reason"] == "the account was added"
    row = await WebhookEvent.select().where(WebhookEvent.id == refused.id).first()
    assert row["status"] == "received"  # queued again; its job runs in the worker
