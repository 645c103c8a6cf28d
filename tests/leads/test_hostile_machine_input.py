"""Hostile bodies for the machine doors (the REST intake and the signed webhooks): every one is answered with
a 4xx and a reason, none is a 500, and a refused body saves nothing (a batch is stored whole or refused
whole, and its items are processed each with its own outcome)."""

import json

from crm.core.inbox.signatures import BodyHmac, TimestampedHmac
from crm.core.inbox.tables import WebhookEvent
from crm.leads import sources
from crm.leads.tables import CallRecord, Lead
from tests.conftest import run_jobs
from tests.factories import actor_for, make_user
from tests.leads.factories import raw_lead
from tests.leads.test_intake import client, form_payload, setup_source

NESTED = b"[" * 60_000 + b"]" * 60_000
NON_UTF8 = b'{"first_name": "Ana \xff\xfe", "last_name": "X", "country": "GB", "phone": "+447911000001"}'


async def test_rest_intake_refuses_unstorable_bodies_with_a_reason(app):
    _, key, _ = await setup_source()
    auth = {"Authorization": f"Bearer {key}", "content-type": "application/json"}
    bodies = {
        "nul": json.dumps(raw_lead(1, first_name="Ana\u0000")).encode(),
        "nul key": json.dumps({**raw_lead(2), "x\u0000": "y"}).encode(),
        "non-utf-8": NON_UTF8,
        "nested": NESTED,
        "infinity": b'{"first_name": "Ana", "demo_sessions": Infinity}',
        "huge number": b'{"first_name": 1e400}',
        "not an object": b'"just a string"',
        "list of leads": json.dumps([raw_lead(3)]).encode(),
    }
    async with client(app) as http:
        for name, body in bodies.items():
            response = await http.post("/api/v1/leads", content=body, headers=auth)
            assert 400 <= response.status_code < 500, (name, response.status_code, response.text[:200])
            assert response.json()["error"], name
    assert await Lead.count() == 0


async def test_webhooks_refuse_wrong_shapes_with_their_field_reasons(app):
    _, secret, _ = await setup_source("webhook", "Meta lead ads", signature_scheme="body")
    manager = await make_user(roles={"EU": ["sales_team_lead"]})
    source = await sources.source_named("Meta lead ads", "webhook")
    _, call_secret = await sources.create_source(
        await actor_for(manager), name="Dialer", kind="telephony", entity_id=source["entity_id"]
    )
    hub, stamped = BodyHmac(), TimestampedHmac()
    call = {
        "call_id": "c-1",
        "agent_email": "agent@test.example",
        "phone": "+447911000001",
        "direction": "outbound",
        "started_at": "2026-11-23T10:00:00Z",
        "duration_s": 95,
        "outcome": "answered",
    }
    forms = {
        "field_data a string": form_payload({"leadgen_id": "L-1", "field_data": "email=ana@example.com"}),
        "field_data items not objects": form_payload({"leadgen_id": "L-2", "field_data": ["email", 3, None]}),
        "values not a list": form_payload(
            {"leadgen_id": "L-3", "field_data": [{"name": "email", "values": "ana@example.com"}]}
        ),
        "leadgen_id 100 kB": form_payload({"leadgen_id": "L" * 100_000, "field_data": []}),
        "entry not a list": json.dumps({"entry": "x"}).encode(),
        "nul": form_payload({"leadgen_id": "L-4", "field_data": [{"name": "email", "values": ["a\u0000"]}]}),
        "non-utf-8": b'{"entry": [{"changes": [{"field": "leadgen", "value": {"leadgen_id": "\xff"}}]}]}',
        "nested": NESTED,
    }
    calls = {
        "duration Infinity": json.dumps({**call, "duration_s": float("inf")}).encode(),  # Infinity in JSON
        "duration 1e400": json.dumps(call).replace("95", "1e400").encode(),
        "duration negative": json.dumps({**call, "duration_s": -5}).encode(),
        "started at year 1 +14:00": json.dumps({**call, "started_at": "0001-01-01T00:00:00+14:00"}).encode(),
        "started at year 9999 -14:00": json.dumps(
            {**call, "started_at": "9999-12-31T23:59:59-14:00"}
        ).encode(),
        "call_id 100 kB": json.dumps({**call, "call_id": "c" * 100_000}).encode(),
        "call_id an object": json.dumps({**call, "call_id": {"id": 1}}).encode(),
        "nul": json.dumps({**call, "call_id": "c\u0000"}).encode(),
    }
    async with client(app) as http:
        for name, body in forms.items():
            response = await http.post(
                "/webhooks/leads/Meta lead ads", content=body, headers={hub.header: hub.sign(secret, body)}
            )
            assert response.status_code in (400, 413, 422), (name, response.status_code, response.text[:200])
            assert response.json()["error"], name
        for name, body in calls.items():
            response = await http.post(
                "/webhooks/calls/Dialer",
                content=body,
                headers={stamped.header: stamped.sign(call_secret, body)},
            )
            assert response.status_code in (400, 413, 422), (name, response.status_code, response.text[:200])
            assert response.json()["error"], name
    assert await WebhookEvent.count().where(WebhookEvent.status != "rejected") == 0
    assert await Lead.count() == 0 and await CallRecord.count() == 0


async def test_a_batch_with_one_unstorable_lead_saves_nothing(app, settings):
    """A good lead then a NUL lead: the body is refused whole at the door (400), not half-saved."""
    _, secret, _ = await setup_source("webhook", "Meta lead ads", signature_scheme="body")
    good = {"leadgen_id": "L-1", "field_data": [{"name": "email", "values": ["ana@example.com"]}]}
    bad = {"leadgen_id": "L-2", "field_data": [{"name": "first_name", "values": ["Ana\u0000"]}]}
    body = form_payload(good, bad)
    hub = BodyHmac()
    async with client(app) as http:
        response = await http.post(
            "/webhooks/leads/Meta lead ads", content=body, headers={hub.header: hub.sign(secret, body)}
        )
    assert response.status_code == 400 and "NUL" in response.json()["error"]
    await run_jobs(settings)
    assert await Lead.count() == 0
