"""Every staff route as anonymous, as a user without the permission, as a permitted user, and as a permitted
user of another entity: no route is unguarded, and nothing of one entity shows in another."""

import re

import pytest
from litestar.handlers import HTTPRouteHandler

from crm.clients.service import reveal_client_field
from crm.core.approvals.tables import ApprovalRequest
from crm.core.cases.attachments import attach
from crm.core.cases.service import open_case
from crm.core.context import Actor
from crm.core.db import fetch, transaction
from crm.core.inbox.service import receive as receive_webhook
from crm.core.inbox.signatures import Verification
from crm.core.org.roles import propose_role_change
from crm.core.org.tables import Role, RoleAssignment, Team
from crm.leads import sources
from crm.leads.service import intake
from crm.settings import Settings
from tests.factories import actor_for, make_client, make_dead_delivery, make_dead_job, make_replay, make_user
from tests.http import StaffClient, text_of

PUBLIC = {"/login", "/mfa", "/mfa/enrol", "/logout", "/healthz", "/sso/login", "/sso/callback", "/register"}
MACHINE = ("/static", "/api/", "/webhooks/")  # keys and signatures, tested in tests/leads/test_intake.py


# What a permitted user (super administrator of EU only) gets: a page (200) for every GET, and for a POST with
# an empty form a refusal that names the missing fields (422), except where an empty form is a complete
# request or the record is out of this user's reach, as each line says.
PERMITTED = {
    ("POST", "/account/focus"): 303,  # no entity chosen: back to all of one's entities
    ("POST", "/cases/queues/{queue_id:int}/take"): 303,  # takes the next case (or says the queue is empty)
    ("POST", "/cases/{reference:str}/assign"): 303,  # no assignee: back to the queue
    ("POST", "/cases/{reference:str}/take"): 303,  # assigns the case to oneself
    ("POST", "/notifications/read"): 303,
    ("POST", "/notifications/preferences"): 303,  # every channel switched off
    ("POST", "/leads/{reference:str}/duplicates/{duplicate_id:int}/dismiss"): 303,
    ("POST", "/leads/routing/{kind:str}/{entity_id:int}"): 303,  # an empty draft is saved (not published)
    ("POST", "/leads/routing/replays"): 303,  # a replay of the last 30 days against the draft starts
    ("POST", "/leads/agents/{agent_id:int}"): 303,  # no working hours: the agent takes leads at any time
    # A role change is a group-wide request: only staff holding approval rights in every entity see it.
    ("GET", "/approvals/{request_id:int}"): 404,
    ("POST", "/approvals/{request_id:int}/decide"): 404,
    # Group-wide settings: EU alone is not every entity (opt group_level).
    ("POST", "/admin/notification-templates/{key:str}"): 403,
    ("POST", "/leads/routing/entities"): 403,
}


def staff_routes(app) -> list[tuple[str, str, HTTPRouteHandler]]:
    routes = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if (
                not isinstance(handler, HTTPRouteHandler)
                or route.path in PUBLIC
                or route.path.startswith(MACHINE)
            ):
                continue
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                routes.append((method, route.path, handler))
    return routes


def required_permission(handler: HTTPRouteHandler):
    perms = [g.permission for g in handler.guards or [] if hasattr(g, "permission")]
    return perms[0] if perms else None


def test_every_staff_route_declares_its_permission(app):
    for method, path, handler in staff_routes(app):
        declared = (
            required_permission(handler)
            or handler.opt.get("any_staff")
            or handler.opt.get("allowed_during_password_change")
        )
        assert declared, f"{method} {path} has no requires(...) guard and is not marked any_staff"


@pytest.fixture
async def world():
    """Records in entity EU, and users permitted in EU, in INTL only, and nowhere."""
    eu_admin = await make_user("eu-admin@test.example", roles={"EU": ["super_admin"]})
    eu_checker = await make_user("eu-checker@test.example", roles={"EU": ["super_admin"]})
    intl_admin = await make_user("intl-admin@test.example", roles={"INTL": ["super_admin"]})
    nobody = await make_user("nobody@test.example", roles={"EU": []})
    client = await make_client("EU", reference="CL-EU-0001", last_name="Euroclient")
    actor = await actor_for(eu_admin)
    await reveal_client_field(actor, client["id"], "email", "matrix test reveal", Settings.from_env())
    request_id = await propose_role_change(actor, None, {"name": "Matrix role", "reason": "matrix"}, [])
    assignment = (
        await RoleAssignment.select(RoleAssignment.id).where(RoleAssignment.user == eu_admin["id"]).first()
    )
    role = await Role.select(Role.id).first()
    team = await Team.insert(
        Team(entity=eu_admin["entities"]["EU"], name="EU desk", kind="compliance")
    ).returning(Team.id)
    async with transaction():
        case = await open_case(
            actor,
            "alert",
            entity_id=eu_admin["entities"]["EU"],
            title="Euroclient alert",
            queue_id=team[0]["id"],
        )
    eu = eu_admin["entities"]["EU"]
    delivery_id = await make_dead_delivery(eu, subject_id="Euroclient", error="Euroclient timeout")
    attached = await attach(actor, case["reference"], "statement.pdf", b"%PDF-1.4 Euroclient statement")
    dead_id = await make_dead_job(eu, kwargs={"who": "Euroclient"}, error="Euroclient down")
    await _lead_desk(eu_admin)
    leads = [
        (
            await intake(
                Actor.system("matrix"),
                {
                    "first_name": "Eve",
                    "last_name": "Euroclient",
                    "country": "GB",
                    "phone": f"+44791112345{n}",
                },
                channel="api",
                fallback_entity_id=eu_admin["entities"]["EU"],
            )
        ).lead["reference"]
        for n in (1, 2)
    ]
    replay_id = await make_replay(eu, per_agent={"Euroclient": 1})
    inbox_id = (
        await receive_webhook(
            actor,
            provider="leads.form",
            endpoint="Euroclient forms",
            entity_id=eu_admin["entities"]["EU"],
            body=b'{"entry": "Euroclient"}',
            headers={},
            scheme="body",
            verification=Verification(True, "ok"),
            event_id="matrix-1",
        )
    ).id
    ids = {
        "inbox_id": inbox_id,
        "duplicate_id": 1,
        "lead_reference": leads[0],
        "other": leads[1],
        "kind": "routing",
        "entity_id": eu_admin["entities"]["EU"],
        "replay_id": replay_id,
        "import_id": await _import(eu_admin),
        "pool_id": (await fetch("SELECT id FROM lead_pool LIMIT 1"))[0]["id"],
        "agent_id": eu_admin["id"],
        "source_id": (
            await sources.create_source(
                actor, name="Euroclient feed", kind="api", entity_id=eu_admin["entities"]["EU"]
            )
        )[0]["id"],
        "delivery_id": delivery_id,
        "file_id": attached["file_id"],
        "dead_id": dead_id,
        "key": "case_assigned",
        "client_id": client["id"],
        "user_id": eu_admin["id"],
        "role_id": role["id"],
        "assignment_id": assignment["id"],
        "request_id": request_id,
        "queue_id": team[0]["id"],
        "reference": case["reference"],
    }
    return {"eu": eu_admin, "checker": eu_checker, "intl": intl_admin, "nobody": nobody, "ids": ids}


def fill(path: str, ids: dict) -> str:
    if path.startswith("/leads/"):
        ids = {**ids, "reference": ids["lead_reference"]}
    return re.sub(r"\{(\w+):(?:int|str)\}", lambda m: str(ids[m.group(1)]), path)


async def _import(user: dict) -> int:
    from crm.leads import imports

    return await imports.start(
        await actor_for(user),
        user["entities"]["EU"],
        "Euroclient.csv",
        b"first_name,country\nEve,GB\n",
        route=False,
    )


async def _lead_desk(user: dict) -> None:
    """A pool of one EU agent, so the matrix's leads are owned and routed."""
    from tests.leads.factories import make_pool, publish_rules

    pool = await make_pool(user["entities"]["EU"], "EU desk", [(user["id"], 1, 50)])
    await publish_rules("routing", user["entities"]["EU"], {"rules": [], "fallback_pool_id": pool})


async def call(client: StaffClient, method: str, url: str):
    return await (client.get(url) if method == "GET" else client.post(url, {}))


async def test_matrix(app, world):
    for method, path, handler in staff_routes(app):
        url = fill(path, world["ids"])
        permission = required_permission(handler)
        async with StaffClient(app) as anonymous:
            response = await call(anonymous, method, url)
            assert response.status_code == 303 and response.headers["location"].startswith("/login"), (
                method,
                url,
            )
        if handler.opt.get("stream") and permission is None:
            continue  # an endless stream any signed-in user may open: covered by tests/browser
        async with StaffClient(app) as client:
            await client.sign_in_as(world["nobody"])
            response = await call(client, method, url)
            if permission is not None:
                assert response.status_code == 403, (method, url, response.status_code)
            else:
                assert response.status_code < 500, (method, url)
        if handler.opt.get("stream"):
            continue  # endless streams: permitted users are covered by tests/browser
        async with StaffClient(app) as client:
            await client.sign_in_as(world["checker"])
            response = await call(client, method, url)
            expected = PERMITTED.get((method, path), 200 if method == "GET" else 422)
            assert response.status_code == expected, (method, url, response.status_code, expected)
        async with StaffClient(app) as client:
            await client.sign_in_as(world["intl"])
            response = await call(client, method, url)
            assert response.status_code < 500, (method, url)
            if "{" in path:  # a record of entity EU, asked for by an INTL user
                # 404 (never a hint that it exists), 403 for a group-wide setting, 422 where an empty form is
                # refused before the record is looked up (the check below shows nothing of it leaked). Roles
                # and notification templates belong to no entity: an INTL administrator sees them too.
                group_wide = path.startswith(("/admin/roles", "/admin/notification-templates"))
                assert response.status_code in (404, 403, 422) or (
                    group_wide and response.status_code in (200, 303)
                ), (method, url, response.status_code)
            for secret in ("CL-EU-0001", "Euroclient", "eu-admin@test.example", "matrix test reveal"):
                assert secret not in response.text, (method, url, secret)


async def test_lists_show_only_the_actors_entities(app, world):
    async with StaffClient(app) as client:
        await client.sign_in_as(world["checker"])
        assert "CL-EU-0001" in text_of(await client.get("/clients"))
        assert "matrix test reveal" in text_of(await client.get("/audit"))
        assert "eu-admin@test.example" in text_of(await client.get("/admin/users"))
        await client.sign_in_as(world["intl"])
        assert "CL-EU-0001" not in text_of(await client.get("/clients"))
        assert "matrix test reveal" not in text_of(await client.get("/audit"))
        assert (await client.get(f"/clients/{world['ids']['client_id']}")).status_code == 404
    assert await ApprovalRequest.count() == 1
