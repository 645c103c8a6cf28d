"""The staff routes of the app's route table and a world of EU records to fill their paths with, shared by the
permission matrix and the hostile-input walk."""

import re

import pytest
from litestar.handlers import HTTPRouteHandler

from crm.clients import brands
from crm.clients.service import reveal_client_field
from crm.core.cases.attachments import attach
from crm.core.cases.service import open_case
from crm.core.context import Actor
from crm.core.db import fetch, transaction
from crm.core.inbox.service import receive as receive_webhook
from crm.core.inbox.signatures import Verification
from crm.core.org.roles import propose_role_change
from crm.core.org.tables import Role, RoleAssignment, Team
from crm.core.rules import service as rules
from crm.identity import views
from crm.kyc import requirements
from crm.kyc.documents.samples import document_photo
from crm.kyc.documents.service import receive
from crm.leads import sources
from crm.leads.service import intake
from crm.settings import Settings
from tests.factories import (
    actor_for,
    make_client,
    make_dead_delivery,
    make_dead_job,
    make_replay,
    make_screening_hit,
    make_user,
)

PUBLIC = {
    "/login",
    "/mfa",
    "/mfa/enrol",
    "/logout",
    "/healthz",
    "/sso/login",
    "/sso/callback",
    "/register",
    "/register/consent",
    "/privacy/{entity_code:str}",
    "/privacy/{entity_code:str}/{version:str}",
}
PORTAL = "/portal"  # the client portal: its own realm (tests/onboarding/test_client_portal.py)
MACHINE = ("/static", "/api/", "/webhooks/")  # keys and signatures, tested in tests/leads/test_intake.py


def browser_routes(app) -> list[tuple[str, str, HTTPRouteHandler]]:
    """Every route a browser uses (staff and public): (method, path, handler)."""
    routes = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler) or route.path.startswith(MACHINE):
                continue
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                routes.append((method, route.path, handler))
    return routes


def staff_routes(app) -> list[tuple[str, str, HTTPRouteHandler]]:
    return [
        (method, path, handler)
        for method, path, handler in browser_routes(app)
        if path not in PUBLIC and not path.startswith(PORTAL)
    ]


def all_routes(app, prefix: str) -> list[tuple[str, str]]:
    """(method, path) of every browser route under `prefix` (the client portal's, say)."""
    return [(method, path) for method, path, _ in browser_routes(app) if path.startswith(prefix)]


def required_permission(handler: HTTPRouteHandler):
    perms = [g.permission for g in handler.guards or [] if hasattr(g, "permission")]
    return perms[0] if perms else None


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
    await make_screening_hit(client)
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
        "brand_id": await brands.save(Actor.system("matrix"), None, {"code": "matrix", "name": "Matrix FX"}),
        "view_id": await views.save_view(actor, "cases.all", "Euroclient view", "priority=1"),
        "code": "ofac_sdn",
        "entity_code": "EU",  # a privacy notice's public page
        "version": "v1",
        "inbox_id": inbox_id,
        "duplicate_id": 1,
        "lead_reference": leads[0],
        "other": leads[1],
        "kind": "routing",
        "view": "all",
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
        "token": "not-a-real-link-token",
        "document_id": (
            await receive(actor, client["id"], "passport", "passport.jpg", document_photo(), source="staff")
        )["id"],
        "version_id": (
            await rules.save_draft(
                actor, requirements.KIND, eu_admin["entities"]["EU"], requirements.STARTING_POINT
            )
        )["id"],
        "match_id": (await fetch("SELECT id FROM screening_match WHERE client = $1", client["id"]))[0]["id"],
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
