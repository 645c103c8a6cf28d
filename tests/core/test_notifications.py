"""Notifications: in-app, email over a local SMTP server, Slack-format chat webhook; failures retried, never
blocking."""

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from crm.core.cases.service import assign, open_case
from crm.core.context import Actor
from crm.core.db import transaction
from crm.core.events.dispatcher import dispatch_pending
from crm.core.notifications.service import retry_failed
from crm.core.notifications.tables import NotificationDelivery
from crm.core.org.tables import Team
from crm.settings import Settings
from tests.factories import actor_for, make_user
from tests.http import StaffClient, free_port, text_of


@pytest.fixture
def chat():
    posts = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            posts.append(json.loads(self.rfile.read(int(self.headers["content-length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", free_port()), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield posts, f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


async def drain() -> None:
    while await dispatch_pending():
        pass


async def test_an_assignment_notifies_in_app_by_email_and_in_chat(app, smtp, chat):
    posts, hook_url = chat
    lead = await make_user(roles={"EU": ["compliance_officer"]}, full_name="Lena Lead")
    agent = await make_user("agent@test.example", roles={"EU": ["compliance_officer"]}, full_name="Ari Agent")
    entity = lead["entities"]["EU"]
    team = (
        await Team.insert(
            Team(entity=entity, name="Compliance", kind="compliance", chat_webhook_url=hook_url)
        ).returning(Team.id)
    )[0]["id"]
    async with transaction():
        case = await open_case(
            Actor.system("test"), "alert", entity_id=entity, title="Odd deposits", queue_id=team
        )
    await assign(await actor_for(lead), case["reference"], agent["id"])
    await drain()
    assert smtp.messages and smtp.messages[0][0] == ["agent@test.example"]
    assert f"{case['reference']} was assigned to you" in smtp.messages[0][1]
    assert posts and case["reference"] in posts[0]["text"] and "Open in the CRM" in posts[0]["text"]
    async with StaffClient(app) as http:
        await http.sign_in_as(agent)
        page = await http.get("/notifications")
        assert f"{case['reference']} was assigned to you" in text_of(page)
        assert 'data-testid="unread">1<' in page.text
        await http.post("/notifications/read")
        assert 'data-testid="unread"' not in (await http.get("/notifications")).text


async def test_a_failing_channel_never_blocks_and_is_retried(app, smtp, chat):
    posts, hook_url = chat
    lead = await make_user(roles={"EU": ["compliance_officer"]})
    agent = await make_user(roles={"EU": ["compliance_officer"]})
    entity = lead["entities"]["EU"]
    dead_port = free_port()
    team = (
        await Team.insert(
            Team(
                entity=entity,
                name="Compliance",
                kind="compliance",
                chat_webhook_url=f"http://127.0.0.1:{dead_port}/hook",
            )
        ).returning(Team.id)
    )[0]["id"]
    async with transaction():
        case = await open_case(
            Actor.system("test"), "alert", entity_id=entity, title="Odd deposits", queue_id=team
        )
    assigned = await assign(await actor_for(lead), case["reference"], agent["id"])
    assert assigned["assignee_id"] == agent["id"]  # the action itself succeeded
    await drain()
    chat_delivery = await NotificationDelivery.select().where(NotificationDelivery.channel == "chat").first()
    email_delivery = (
        await NotificationDelivery.select().where(NotificationDelivery.channel == "email").first()
    )
    assert (
        chat_delivery["status"] == "failed" and chat_delivery["attempts"] == 1 and chat_delivery["last_error"]
    )
    assert email_delivery["status"] == "sent"
    await Team.update({Team.chat_webhook_url: hook_url}).where(Team.id == team)
    await NotificationDelivery.update(
        {NotificationDelivery.target: hook_url, NotificationDelivery.next_attempt_at: dt.datetime.now(dt.UTC)}
    ).where(NotificationDelivery.id == chat_delivery["id"])
    assert await retry_failed(Settings.from_env()) == 1
    assert (
        await NotificationDelivery.select().where(NotificationDelivery.id == chat_delivery["id"]).first()
    )["status"] == "sent"
    assert len(posts) == 1


async def test_preferences_switch_channels_off(app, smtp):
    lead = await make_user(roles={"EU": ["compliance_officer"]})
    agent = await make_user(roles={"EU": ["compliance_officer"]})
    async with StaffClient(app) as http:
        await http.sign_in_as(agent)
        await http.post("/notifications/preferences", {"chat": "on"})  # email unticked
    async with transaction():
        case = await open_case(
            Actor.system("test"), "alert", entity_id=lead["entities"]["EU"], title="Odd deposits"
        )
    await assign(await actor_for(lead), case["reference"], agent["id"])
    await drain()
    assert smtp.messages == [] and await NotificationDelivery.count() == 0


async def test_templates_are_data_edited_in_versions_with_validation_and_audit(app, smtp):
    from crm.core.audit.tables import AuditRecord

    admin = await make_user(roles={"EU": ["system_admin"]})
    lead = await make_user(roles={"EU": ["compliance_officer"]})
    agent = await make_user("agent2@test.example", roles={"EU": ["compliance_officer"]})
    entity = lead["entities"]["EU"]
    async with StaffClient(app) as client:
        await client.sign_in_as(admin)
        assert "case_assigned" in (await client.get("/admin/notification-templates")).text
        url = "/admin/notification-templates/case_assigned"
        broken = await client.post(
            url, {"action": "save", "title": "{{ reference", "body": "", "reason": "x"}
        )
        assert broken.status_code == 422 and "TemplateSyntaxError" in text_of(broken)
        unknown = await client.post(
            url, {"action": "save", "title": "{{ client_name }}", "body": "", "reason": "x"}
        )
        assert unknown.status_code == 422 and "client_name" in text_of(unknown)
        no_reason = await client.post(
            url, {"action": "save", "title": "New: {{ reference }}", "body": "", "reason": ""}
        )
        assert no_reason.status_code == 422
        preview = await client.post(
            url,
            {
                "action": "preview",
                "title": "Yours now: {{ reference }}",
                "body": "{{ title }} · {{ priority }}",
            },
        )
        assert "Yours now: CASE-000123" in text_of(preview)
        for hostile, reason in (
            ("{{ 1/0 }}", "ZeroDivisionError"),
            ("{{ 'a' + 1 }}", "TypeError"),
            ("{{ 'x' * 999999999 }}", "more than 1,000 times"),
            ("{{ 9 ** 99999999 }}", "power above 64"),
        ):
            refused = await client.post(url, {"action": "preview", "title": "ok", "body": hostile})
            assert refused.status_code == 422 and reason in text_of(refused), hostile
        saved = await client.post(
            url,
            {
                "action": "save",
                "title": "Yours now: {{ reference }}",
                "body": "{{ title }} · {{ priority }}",
                "reason": "clearer wording",
            },
        )
        assert saved.status_code == 303
        assert "clearer wording" in text_of(await client.get(url))
    async with transaction():
        case = await open_case(
            Actor.system("test"), "alert", entity_id=entity, title="Odd deposits", priority=2
        )
    await assign(await actor_for(lead), case["reference"], agent["id"])
    await drain()
    assert (
        f"Yours now: {case['reference']}" in smtp.messages[0][1]
        and "Odd deposits · high" in smtp.messages[0][1]
    )
    audit = (
        await AuditRecord.select()
        .where(AuditRecord.action == "system:template:edit")
        .first()
        .output(load_json=True)
    )
    assert audit["reason"] == "clearer wording" and "Yours now" in json.dumps(audit["after"])
