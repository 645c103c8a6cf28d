"""Intake over HTTP: the REST API with keys and OpenAPI, the signed lead-form webhook, the call webhook and
the public form; each rejects bad input with a reason and is idempotent."""

import asyncio
import json

import httpx

from crm.core.cases.tables import WorkCase
from crm.core.db import fetch
from crm.core.events.tables import AutomationRun
from crm.core.inbox.signatures import BodyHmac, TimestampedHmac
from crm.core.inbox.tables import WebhookEvent
from crm.leads import sources
from crm.leads.tables import CallRecord, Lead
from tests.conftest import run_jobs
from tests.factories import actor_for, make_user
from tests.http import text_of
from tests.leads.factories import make_pool, make_team, publish_rules, raw_lead


def client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver")


async def setup_source(kind: str = "api", name: str = "Partner site", signature_scheme: str = "timestamped"):
    manager = await make_user(roles={"EU": ["sales_team_lead"]})
    agent = await make_user("agent@test.example", roles={"EU": ["sales_agent"]})
    entity = manager["entities"]["EU"]
    pool = await make_pool(entity, "General", [(agent["id"], 1, 50)], team_id=await make_team(entity))
    await publish_rules("routing", entity, {"rules": [], "fallback_pool_id": pool})
    source, credential = await sources.create_source(
        await actor_for(manager),
        name=name,
        kind=kind,
        entity_id=entity,
        source_label="partner",
        signature_scheme=signature_scheme,
    )
    return source, credential, agent


async def test_rest_intake_with_api_key_idempotent_and_field_errors(app):
    source, key, agent = await setup_source()
    auth = {"Authorization": f"Bearer {key}"}
    async with client(app) as http:
        assert (await http.post("/api/v1/leads", json=raw_lead(1))).status_code == 401
        assert (
            await http.post("/api/v1/leads", json=raw_lead(1), headers={"Authorization": "Bearer crmk_nope"})
        ).status_code == 401
        created = await http.post("/api/v1/leads", json=raw_lead(1, external_id="p-1"), headers=auth)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["reference"].startswith("LD-") and body["created"] and body["routed"]
        again = await http.post("/api/v1/leads", json=raw_lead(1, external_id="p-1"), headers=auth)
        assert (
            again.status_code == 200
            and again.json()["reference"] == body["reference"]
            and not again.json()["created"]
        )
        bad = await http.post("/api/v1/leads", json={"email": "nope", "country": "Atlantis"}, headers=auth)
        assert bad.status_code == 422 and set(bad.json()["fields"]) == {"email", "country", "first_name"}
        wrong_type = await http.post("/api/v1/leads", json={"first_name": ["a"]}, headers=auth)
        assert wrong_type.status_code == 400 and "error" in wrong_type.json()
        not_json = await http.post(
            "/api/v1/leads", content=b"{", headers={**auth, "content-type": "application/json"}
        )
        assert not_json.status_code == 400
        signals = await http.post(
            f"/api/v1/leads/{body['reference']}/signals", json={"kyc_started": True}, headers=auth
        )
        assert signals.status_code == 200 and signals.json()["reference"] == body["reference"]
        schema = await http.get("/api/schema/openapi.json")
        assert schema.status_code == 200 and "/api/v1/leads" in schema.json()["paths"]
        assert not any(p.startswith(("/cases", "/sandbox", "/webhooks")) for p in schema.json()["paths"])
        # The viewer works offline: its script is vendored and the page loads nothing from elsewhere.
        viewer = await http.get("/api/schema")
        assert viewer.status_code == 200 and "/static/vendor/redoc-2.4.0.standalone.js" in viewer.text
        assert "https://" not in viewer.text.replace("https://testserver", "")
        script = await http.get("/static/vendor/redoc-2.4.0.standalone.js")
        assert script.status_code == 200 and len(script.content) > 500_000
    lead = await Lead.select().where(Lead.reference == body["reference"]).first()
    assert lead["source"] == "partner" and lead["owner_id"] == agent["id"] and lead["channel"] == "api"
    assert await Lead.count() == 1


async def test_the_same_lead_sent_at_once_is_saved_and_routed_once(app):
    source, key, agent = await setup_source()
    auth = {"Authorization": f"Bearer {key}"}
    async with client(app) as http:
        answers = await asyncio.gather(
            *(http.post("/api/v1/leads", json=raw_lead(1, external_id="p-9"), headers=auth) for _ in range(6))
        )
    assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
    assert len({a.json()["reference"] for a in answers}) == 1
    assert await Lead.count() == 1 and await WorkCase.count() == 1  # the losers' routing was rolled back
    assert (await fetch("SELECT open_leads FROM agent_load WHERE agent_id = $1", agent["id"]))[0][
        "open_leads"
    ] == 1
    assert (await fetch("SELECT assigned_count FROM lead_pool_member WHERE agent_id = $1", agent["id"]))[0][
        0
    ] == 1


def form_payload(*leads: dict) -> bytes:
    return json.dumps(
        {
            "object": "page",
            "entry": [
                {
                    "id": "page-1",
                    "time": 1763900000,
                    "changes": [{"field": "leadgen", "value": lead} for lead in leads],
                }
            ],
        }
    ).encode()


async def test_signed_lead_form_webhook(app, settings):
    """A social-ad platform signs the body only (no timestamp): the inbox dedupes on its leadgen ids."""
    source, secret, agent = await setup_source("webhook", "Meta lead ads", signature_scheme="body")
    good = {
        "leadgen_id": "L-1",
        "platform": "ig",
        "campaign_name": "Gold Q4",
        "field_data": [
            {"name": "full_name", "values": ["Lucía Gómez"]},
            {"name": "email", "values": ["lucia@example.es"]},
            {"name": "phone_number", "values": ["+34 612 345 678"]},
            {"name": "country", "values": ["ES"]},
        ],
    }
    bad = {"leadgen_id": "L-2", "field_data": [{"name": "email", "values": ["not-an-email"]}]}
    body = form_payload(good, bad)
    url = "/webhooks/leads/Meta lead ads"
    hub = BodyHmac()
    async with client(app) as http:
        unsigned = await http.post(url, content=body)
        assert unsigned.status_code == 401 and "X-Hub-Signature-256" in unsigned.json()["error"]
        forged = await http.post(url, content=body, headers={hub.header: hub.sign("wrong", body)})
        assert forged.status_code == 401
        signed = await http.post(url, content=body, headers={hub.header: hub.sign(secret, body)})
        assert signed.status_code == 202, signed.text
        assert signed.json()["status"] == "received"
        replay = await http.post(url, content=body, headers={hub.header: hub.sign(secret, body)})
        assert replay.status_code == 200 and replay.json() == {
            "event": signed.json()["event"],
            "status": "duplicate",
        }
        empty = json.dumps({"entry": []}).encode()
        refused = await http.post(url, content=empty, headers={hub.header: hub.sign(secret, empty)})
        assert refused.status_code == 422 and "entry" in refused.json()["fields"]
    assert await Lead.count() == 0  # nothing is done in the request: the job does it
    await run_jobs(settings)
    lead = await Lead.select().first()
    assert (lead["first_name"], lead["last_name"], lead["phone"], lead["source"], lead["campaign"]) == (
        "Lucía",
        "Gómez",
        "+34612345678",
        "instagram",
        "Gold Q4",
    )
    event = await WebhookEvent.select().where(WebhookEvent.id == signed.json()["event"]).first()
    outcome = json.loads(event["outcome"])
    assert event["status"] == "partial" and outcome["created"] == [lead["reference"]]
    assert outcome["refused"][0]["leadgen_id"] == "L-2" and "email" in outcome["refused"][0]["fields"]
    statuses = {r["status"] for r in await WebhookEvent.select(WebhookEvent.status)}
    assert statuses == {"partial", "rejected"}  # the forged, unsigned and empty requests are kept, as refused
    run = await AutomationRun.select().where(AutomationRun.automation == "inbox.process").first()
    assert run["outcome"] == "failed" and "1 item(s) refused" in run["error"]


async def test_signed_call_record_webhook_is_idempotent_and_answered_calls_count_as_contact(app, settings):
    api_source, key, agent = await setup_source()
    manager = await make_user(roles={"EU": ["sales_team_lead"]})
    tel, secret = await sources.create_source(
        await actor_for(manager), name="Dialer", kind="telephony", entity_id=api_source["entity_id"]
    )
    signed = TimestampedHmac()
    async with client(app) as http:
        created = (
            await http.post("/api/v1/leads", json=raw_lead(7), headers={"Authorization": f"Bearer {key}"})
        ).json()
        call = {
            "call_id": "c-1",
            "agent_email": "agent@test.example",
            "lead_reference": created["reference"],
            "direction": "outbound",
            "started_at": "2026-11-23T10:00:00Z",
            "duration_s": 95,
            "outcome": "answered",
            "disposition": "interested",
            "recording_url": "rec://c-1",
        }
        body = json.dumps(call).encode()
        first = await http.post(
            "/webhooks/calls/Dialer", content=body, headers={signed.header: signed.sign(secret, body)}
        )
        assert first.status_code == 202
        second = await http.post(
            "/webhooks/calls/Dialer", content=body, headers={signed.header: signed.sign(secret, body)}
        )
        assert second.status_code == 200 and second.json()["status"] == "duplicate"  # the same call_id
        bad = json.dumps(
            {**call, "call_id": "c-2", "started_at": "yesterday", "outcome": "answered"}
        ).encode()
        rejected = await http.post(
            "/webhooks/calls/Dialer", content=bad, headers={signed.header: signed.sign(secret, bad)}
        )
        assert rejected.status_code == 422 and "started_at" in rejected.json()["fields"]
        odd = json.dumps({**call, "call_id": "c-3", "outcome": "teleported"}).encode()
        rejected = await http.post(
            "/webhooks/calls/Dialer", content=odd, headers={signed.header: signed.sign(secret, odd)}
        )
        assert rejected.status_code == 422 and "outcome" in rejected.json()["fields"]
    await run_jobs(settings)
    assert await CallRecord.count() == 1
    record = await CallRecord.select().first()
    assert record["agent_id"] == agent["id"] and record["duration_s"] == 95
    lead = await Lead.select().first()
    assert lead["first_contact_at"] is not None


async def test_public_form_field_errors_then_success(app):
    await setup_source()
    async with client(app) as http:
        page = await http.get("/register?utm_source=google&utm_campaign=brand&ref=IB7")
        assert page.status_code == 200 and 'value="google"' in page.text and 'value="IB7"' in page.text
        token = http.cookies.get("crm_csrf")
        bad = await http.post(
            "/register",
            data={
                "_csrf_token": token,
                "first_name": "Ann",
                "email": "ann@",
                "phone": "12",
                "country": "GB",
                "utm_source": "google",
            },
        )
        assert bad.status_code == 422
        assert "This is not an e-mail address" in text_of(bad) and "not a valid phone number" in text_of(bad)
        assert 'value="Ann"' in bad.text  # what was typed is kept
        ok = await http.post(
            "/register",
            data={
                "_csrf_token": token,
                "first_name": "Ann",
                "last_name": "Lee",
                "email": "ann@example.co.uk",
                "phone": "07911 123456",
                "country": "GB",
                "utm_source": "google",
                "utm_campaign": "brand",
            },
        )
        assert ok.status_code == 200 and "LD-" in text_of(ok)
    rows = await fetch("SELECT source, campaign, phone, channel, utm FROM lead")
    assert (
        rows[0]["source"] == "google"
        and rows[0]["campaign"] == "brand"
        and rows[0]["phone"] == "+447911123456"
    )
    assert rows[0]["channel"] == "form"


async def test_the_public_schema_leaves_the_sandboxes_out(settings, tmp_path):
    import dataclasses

    from crm.app import create_app

    demo = create_app(
        dataclasses.replace(
            settings, oidc_issuer="sandbox", oidc_client_id="crm", mail_sandbox_dir=str(tmp_path)
        )
    )
    async with client(demo) as http:
        paths = (await http.get("/api/schema/openapi.json")).json()["paths"]
    assert paths and all(p.startswith("/api/") for p in paths), sorted(paths)
