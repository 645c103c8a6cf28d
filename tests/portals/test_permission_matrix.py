"""Every staff route as anonymous, as a user without the permission, as a permitted user, and as a permitted
user of another entity: no route is unguarded, and nothing of one entity shows in another."""

from crm.core.approvals.tables import ApprovalRequest
from tests.http import StaffClient, text_of
from tests.portals.routes import fill, required_permission, staff_routes

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
    ("GET", "/audit/suggest/{kind:str}"): 404,  # the matrix's "routing" is no picker
    # A role change is a group-wide request: only staff holding approval rights in every entity see it.
    ("GET", "/approvals/{request_id:int}"): 404,
    ("POST", "/approvals/{request_id:int}/decide"): 404,
    # Group-wide settings: EU alone is not every entity (opt group_level).
    ("POST", "/admin/notification-templates/{key:str}"): 403,
    ("POST", "/leads/routing/entities"): 403,
    ("POST", "/account/views"): 404,  # no list named
    ("POST", "/account/views/{view_id:int}/delete"): 404,  # the matrix's view is another user's
    ("GET", "/kyc/watchlists/{code:str}"): 404,  # the matrix's world imports no list (tests/kyc do)
    ("POST", "/kyc/screening/{client_id:int}/screen"): 303,  # an empty form is a complete request
    ("POST", "/admin/brands"): 403,
    ("POST", "/admin/brands/{brand_id:int}"): 403,
}


def test_every_staff_route_declares_its_permission(app):
    for method, path, handler in staff_routes(app):
        declared = (
            required_permission(handler)
            or handler.opt.get("any_staff")
            or handler.opt.get("allowed_during_password_change")
        )
        assert declared, f"{method} {path} has no requires(...) guard and is not marked any_staff"


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
            if "{" in path and "{view:str}" not in path:  # a record of entity EU, asked for by an INTL user
                # ({view} names a list, not a record: the INTL user gets their own list; the check below shows
                # none of EU's rows in it)
                # 404 (never a hint that it exists), 403 for a group-wide setting, 422 where an empty form is
                # refused before the record is looked up (the check below shows nothing of it leaked). Roles
                # notification templates and brands belong to no entity: an INTL administrator sees them too.
                group_wide = path.startswith(
                    ("/admin/roles", "/admin/notification-templates", "/admin/brands")
                )
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
