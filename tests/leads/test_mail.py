"""E-mail with a lead: written on the lead page (no reveal needed), sent after commit by a real arq worker
through a real SMTP server, retried, never twice; replies arrive by the signed inbound webhook, once each, and
reach the owner; everything shows on the timeline."""

import json

import httpx

from crm.core.audit.tables import AuditRecord
from crm.core.context import Actor
from crm.core.inbox.signatures import TimestampedHmac
from crm.core.inbox.tables import WebhookEvent
from crm.core.notifications.tables import Notification
from crm.leads import mail, service, sources
from crm.leads.tables import LeadEmail
from tests.conftest import run_jobs
from tests.factories import actor_for, make_user
from tests.http import StaffClient, text_of
from tests.leads.factories import make_pool, make_team, publish_rules, raw_lead

INTAKE = Actor.system("test_intake")


async def desk():
    tl = await make_user(roles={"EU": ["sales_team_lead"]}, full_name="Tess Lead")
    agent = await make_user(roles={"EU": ["sales_agent"]}, full_name="Agent A")
    entity = tl["entities"]["EU"]
    pool = await make_pool(
        entity, "Solo", [(agent["id"], 1, 50)], team_id=await make_team(entity, lead=tl["id"])
    )
    await publish_rules("routing", entity, {"rules": [], "fallback_pool_id": pool})
    lead = (await service.intake(INTAKE, raw_lead(1, email="ana.lead@example.com"), channel="api")).lead
    return tl, agent, lead


async def test_an_agent_emails_a_lead_and_the_worker_sends_it_once(app, settings, smtp):
    tl, agent, lead = await desk()
    url = f"/leads/{lead['reference']}"
    async with StaffClient(app) as http:
        await http.sign_in_as(agent)
        empty = await http.post(
            f"{url}/emails", {"action": "email", "subject": "", "message": "Hello Ana, my typed text"}
        )
        assert empty.status_code == 422 and "1 to 200 characters" in empty.text
        assert "Hello Ana, my typed text" in empty.text  # nothing typed is lost
        sent = await http.post(
            f"{url}/emails",
            {
                "action": "email",
                "subject": "Your demo account",
                "message": "Hello Ana,\nyour demo account is ready.",
            },
        )
        assert sent.status_code == 303
        page = text_of(await http.get(url))
        assert "Your demo account" in page and "queued" in page
    assert "ana.lead@example.com" not in page  # the agent never saw the address
    await run_jobs(settings)
    to_lead = [
        m for m in smtp.messages if m[0] == ["ana.lead@example.com"]
    ]  # (the agent was e-mailed the lead too)
    assert len(to_lead) == 1
    raw = to_lead[0][1]
    assert "Subject: Your demo account" in raw and "demo account is ready" in raw
    email = await LeadEmail.select().first()
    assert email["status"] == "sent" and email["attempts"] == 1 and email["message_id"] in raw
    await run_jobs(settings)  # nothing left to do: a sent e-mail is never sent again
    assert (await mail.send_queued_email(None, email_id=email["id"])) == {"skipped": "sent"}
    assert len([m for m in smtp.messages if m[0] == ["ana.lead@example.com"]]) == 1
    audit = await AuditRecord.select().where(AuditRecord.action == "leads:lead:email").first()
    assert audit["target_id"] == lead["reference"] and "Your demo account" in audit["after"]
    async with StaffClient(app) as http:
        await http.sign_in_as(agent)
        assert "sent" in text_of(await http.get(url))


async def test_a_failing_mail_server_is_retried_then_the_email_shows_failed(app, settings, monkeypatch):
    from crm.core.events.tables import DeadJob
    from crm.core.jobs import _JOBS

    monkeypatch.setenv("CRM_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CRM_SMTP_PORT", "9")  # nothing listens: every try fails
    spec = _JOBS["leads.send_email"]
    monkeypatch.setitem(
        _JOBS, "leads.send_email", type(spec)(spec.name, spec.run, spec.max_attempts, spec.timeout_s, 0.01)
    )
    tl, agent, lead = await desk()
    await mail.send_email(await actor_for(agent), lead["reference"], "Hello", "Are you there?")
    await run_jobs(settings)
    email = await LeadEmail.select().first()
    assert email["status"] == "failed" and email["attempts"] == 5 and email["error"]
    assert await DeadJob.count() == 1


async def test_replies_arrive_signed_once_each_and_reach_the_owner(app, settings):
    tl, agent, lead = await desk()
    manager = await make_user(roles={"EU": ["sales_team_lead"]})
    source, secret = await sources.create_source(
        await actor_for(manager), name="Inbound mail", kind="email", entity_id=tl["entities"]["EU"]
    )
    message = {
        "message_id": "<r1@mail.example>",
        "from": "Ana Lead <Ana.Lead@example.com>",
        "to": "desk@crm.example",
        "subject": "Re: Your demo account",
        "text": "Thanks! Call me after 5pm.",
        "received_at": "2026-11-23T17:00:00Z",
    }
    body = json.dumps(message).encode()
    url = "/webhooks/email/Inbound mail"
    scheme = TimestampedHmac()

    def signed(content: bytes) -> dict:
        return {scheme.header: scheme.sign(secret, content)}

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="https://testserver"
    ) as http:
        assert (await http.post(url, content=body)).status_code == 401
        first = await http.post(url, content=body, headers=signed(body))
        assert first.status_code == 202
        again = await http.post(url, content=body, headers=signed(body))
        assert again.status_code == 200 and again.json()["status"] == "duplicate"  # the same Message-ID
        stranger = json.dumps(message | {"message_id": "<r2@x>", "from": "who@else.example"}).encode()
        unknown = await http.post(url, content=stranger, headers=signed(stranger))
        assert unknown.status_code == 202
        broken = json.dumps({"subject": "no sender"}).encode()
        bad = await http.post(url, content=broken, headers=signed(broken))
        assert bad.status_code == 422 and set(bad.json()["fields"]) == {"from", "message_id"}
    await run_jobs(settings)
    assert await LeadEmail.count() == 1
    outcomes = {
        r["id"]: json.loads(r["outcome"])
        for r in await WebhookEvent.select().where(WebhookEvent.status == "done")
    }
    assert outcomes[first.json()["event"]]["reference"] == lead["reference"]
    assert outcomes[unknown.json()["event"]] == {"matched": False}
    note = (
        await Notification.select()
        .where(Notification.user_id == agent["id"])
        .order_by(Notification.id, ascending=False)
        .first()
    )
    assert note["title"] == f"{lead['reference']} replied: Re: Your demo account"
    async with StaffClient(app) as http:
        await http.sign_in_as(agent)
        page = text_of(await http.get(f"/leads/{lead['reference']}"))
    assert "from the lead" in page and "Call me after 5pm" in page and "received" in page


async def test_the_sandbox_mail_server_keeps_messages_for_the_mailbox_page(settings, tmp_path):
    import dataclasses

    from crm.app import create_app
    from crm.core.mail import OutgoingMail
    from crm.integrations.mail.sandbox import MailSandbox
    from crm.integrations.mail.smtp import SmtpTransport

    sandbox = MailSandbox(tmp_path / "mail")
    port = sandbox.start()
    try:
        sandbox_settings = dataclasses.replace(
            settings, smtp_host="127.0.0.1", smtp_port=port, mail_sandbox_dir=str(tmp_path / "mail")
        )
        message_id = await SmtpTransport(sandbox_settings).send(
            OutgoingMail(
                "ana@example.com",
                "Welcome, Ana",
                "Your account is ready. Reply to ana@example.com or to the desk, desk@test.example.",
                "<welcome-ana@demo.example>",
            )
        )
    finally:
        sandbox.stop()
    admin = await make_user(roles={"EU": ["system_admin"]})
    agent = await make_user(roles={"EU": ["sales_agent"]})
    await make_user("desk@test.example", roles={"EU": ["sales_agent"]})
    async with StaffClient(create_app(sandbox_settings)) as http:
        await http.sign_in_as(agent)
        assert (await http.get("/sandbox/mail")).status_code == 403
        await http.sign_in_as(admin)
        page = await http.get("/sandbox/mail")
    assert page.status_code == 200 and "Welcome, Ana" in page.text and "Your account is ready." in page.text
    # a lead's address is personal data: masked here as on every screen; a staff address is not
    assert "ana@example.com" not in page.text and "a•••@•••.com" in page.text
    assert "desk@test.example" in page.text
    assert message_id.strip("<>") not in page.text  # it holds an address-like id: masked as well
