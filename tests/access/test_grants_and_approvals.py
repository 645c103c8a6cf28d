"""Scoped role grants, privileged grants through a second admin, elevation expiry, role changes, user
admin."""

import datetime as dt
import re

import pytest

from crm.core.approvals import service as approvals
from crm.core.approvals.tables import ApprovalRequest
from crm.core.audit.tables import AuditRecord
from crm.core.errors import Conflict, SegregationOfDuties, ValidationFailed
from crm.core.org.assignments import expire_assignments, grant_role
from crm.core.org.grants import grants_for
from crm.core.org.tables import Role, RoleAssignment
from crm.identity.tables import StaffSession
from tests.factories import actor_for, make_session, make_user
from tests.http import StaffClient, text_of


def in_days(days: int) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


async def role_id(slug: str) -> int:
    return (await Role.select(Role.id).where(Role.slug == slug).first())["id"]


async def test_privileged_grant_waits_for_a_second_admin_who_is_not_the_maker(app):
    maker = await make_user(roles={"EU": ["system_admin"]})
    checker = await make_user(roles={"EU": ["system_admin"]})
    target = await make_user(roles={"EU": []})
    entity = maker["entities"]["EU"]
    async with StaffClient(app) as client:
        await client.sign_in_as(maker)
        response = await client.post(
            f"/admin/users/{target['id']}/assignments",
            {
                "role": await role_id("compliance_officer"),
                "entity": entity,
                "valid_until": in_days(7),
                "reason": "covering annual leave",
            },
        )
        assert response.status_code == 303
    assert await grants_for(target["id"]) == {}  # nothing until approved
    request = await ApprovalRequest.select().first()
    maker_actor = await actor_for(maker)
    with pytest.raises(SegregationOfDuties):
        await approvals.approve(maker_actor, request["id"], request["payload_hash"])
    async with StaffClient(app) as client:
        await client.sign_in_as(maker)
        page = await client.post(
            f"/approvals/{request['id']}/decide",
            {"decision": "approve", "payload_hash": request["payload_hash"]},
        )
        assert page.status_code == 403 and "someone else must decide" in text_of(page)
        await client.sign_in_as(checker)
        ok = await client.post(
            f"/approvals/{request['id']}/decide",
            {"decision": "approve", "payload_hash": request["payload_hash"]},
        )
        assert ok.status_code == 303
    grants = await grants_for(target["id"])
    assert "kyc:review:decide" in grants[entity]
    rows = (
        await AuditRecord.select().where(AuditRecord.target_id == str(target["id"])).order_by(AuditRecord.seq)
    )
    assert [r["action"] for r in rows] == ["access:assignment:request", "access:assignment:grant"]
    assert rows[1]["actor_id"] == checker["id"] and rows[1]["reason"] == "covering annual leave"
    # The permission history on the user's page tells who asked, who approved and why.
    async with StaffClient(app) as client:
        await client.sign_in_as(checker)
        page = text_of(await client.get(f"/admin/users/{target['id']}"))
        assert "Role granted" in page and "covering annual leave" in page and maker["email"] in page


async def test_privileged_role_needs_an_end_date_within_thirty_days():
    admin = await make_user(roles={"EU": ["system_admin"]})
    target = await make_user(roles={"EU": []})
    actor = await actor_for(admin)
    for until in (None, in_days(45)):
        with pytest.raises(ValidationFailed) as exc:
            await grant_role(
                actor,
                user_id=target["id"],
                role_id=await role_id("super_admin"),
                entity_id=admin["entities"]["EU"],
                team_id=None,
                valid_until=until,
                reason="incident",
            )
        assert "valid_until" in exc.value.field_errors


async def test_non_privileged_grant_is_immediate_and_scoped_to_its_entity():
    """To someone who already works with client data (first access to it waits for a second admin: see
    test_segregation_of_duties)."""
    admin = await make_user(roles={"EU": ["system_admin"], "INTL": ["system_admin"]})
    target = await make_user(roles={"EU": ["support_agent"]})
    actor = await actor_for(admin)
    _, status = await grant_role(
        actor,
        user_id=target["id"],
        role_id=await role_id("sales_agent"),
        entity_id=admin["entities"]["INTL"],
        team_id=None,
        valid_until=None,
        reason="new hire",
    )
    assert status == "active"
    assert set(await grants_for(target["id"])) == {admin["entities"]["EU"], admin["entities"]["INTL"]}


async def test_admin_cannot_grant_in_an_entity_they_do_not_manage():
    admin = await make_user(roles={"EU": ["system_admin"]})
    other = await make_user(roles={"INTL": ["support_agent"]})
    with pytest.raises(ValidationFailed):
        await grant_role(
            await actor_for(admin),
            user_id=other["id"],
            role_id=await role_id("support_agent"),
            entity_id=other["entities"]["INTL"],
            team_id=None,
            valid_until=None,
            reason="x",
        )


async def test_changed_payload_voids_earlier_approvals_and_rejection_needs_a_reason():
    maker = await make_user(roles={"EU": ["system_admin"]})
    checker = await make_user(roles={"EU": ["system_admin"]})
    maker_actor, checker_actor = await actor_for(maker), await actor_for(checker)
    from crm.core.org.roles import propose_role_change

    request_id = await propose_role_change(
        maker_actor, None, {"name": "Night desk", "reason": "new shift"}, ["clients:client:view"]
    )
    request = (
        await ApprovalRequest.select().where(ApprovalRequest.id == request_id).first().output(load_json=True)
    )
    old_hash = request["payload_hash"]
    await approvals.amend_payload(
        maker_actor, request_id, {**request["payload"], "permissions": ["audit:record:view"]}, "widened"
    )
    with pytest.raises(Conflict):
        await approvals.approve(checker_actor, request_id, old_hash)  # approving what they saw is refused
    with pytest.raises(ValidationFailed):
        await approvals.reject(checker_actor, request_id, "")
    await approvals.reject(checker_actor, request_id, "too broad")
    assert (await ApprovalRequest.select().where(ApprovalRequest.id == request_id).first())[
        "status"
    ] == "rejected"
    assert not await Role.exists().where(Role.slug == "night_desk")


async def test_role_change_applies_only_after_approval(app):
    maker = await make_user(roles={"EU": ["super_admin"]})
    checker = await make_user(roles={"EU": ["system_admin"]})
    support = await role_id("support_agent")
    async with StaffClient(app) as client:
        await client.sign_in_as(maker)
        proposal = await client.post(
            f"/admin/roles/{support}",
            {
                "name": "Support agent",
                "permissions": ["clients:client:view", "clients:pii:reveal"],
                "reason": "support needs to verify callers",
            },
        )
        assert proposal.status_code == 303
        request_id = int(re.search(r"/approvals/(\d+)", proposal.headers["location"]).group(1))
    role = await Role.select().where(Role.id == support).first()
    assert "clients:pii:reveal" not in role["permissions"]
    request = await ApprovalRequest.select().where(ApprovalRequest.id == request_id).first()
    await approvals.approve(await actor_for(checker), request_id, request["payload_hash"])
    role = await Role.select().where(Role.id == support).first()
    assert "clients:pii:reveal" in role["permissions"]
    change = await AuditRecord.select().where(AuditRecord.action == "access:role:change").first()
    assert change["before"] and change["after"]


async def test_expired_elevation_stops_counting_at_once_and_the_job_records_it():
    admin = await make_user(roles={"EU": ["system_admin"]})
    target = await make_user(roles={"EU": []})
    entity = admin["entities"]["EU"]
    await RoleAssignment.insert(
        RoleAssignment(
            user=target["id"],
            role=await role_id("super_admin"),
            entity=entity,
            status="active",
            valid_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1),
            reason="incident",
        )
    )
    assert await grants_for(target["id"]) == {}  # before the job runs
    assert await expire_assignments() == 1
    assert await expire_assignments() == 0
    row = await AuditRecord.select().where(AuditRecord.action == "access:assignment:expire").first()
    assert row["actor_label"] == "system:expire_assignments" and row["entity_id"] == entity


async def test_expiry_job_runs_in_a_real_arq_worker(settings):
    from arq import create_pool
    from arq.worker import Worker

    from crm.worker import WorkerSettings, redis_settings

    target = await make_user(roles={"EU": []})
    await RoleAssignment.insert(
        RoleAssignment(
            user=target["id"],
            role=await role_id("dealer"),
            entity=target["entities"]["EU"],
            status="active",
            valid_until=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1),
            reason="x",
        )
    )
    redis = await create_pool(redis_settings(settings))
    await redis.flushdb()
    await redis.enqueue_job("expire_role_assignments")
    worker = Worker(
        functions=WorkerSettings.functions,
        redis_settings=redis_settings(settings),
        burst=True,
        on_startup=WorkerSettings.on_startup,
        on_shutdown=WorkerSettings.on_shutdown,
        poll_delay=0.05,
    )
    await worker.main()
    await worker.close()
    await redis.aclose()
    assert (await RoleAssignment.select().where(RoleAssignment.user == target["id"]).first())[
        "status"
    ] == "expired"


async def test_deactivation_ends_sessions_and_revokes_assignments(app):
    admin = await make_user(roles={"EU": ["system_admin"]})
    target = await make_user(roles={"EU": ["sales_agent"]})
    await make_session(target)
    async with StaffClient(app) as client:
        await client.sign_in_as(admin)
        no_reason = await client.post(f"/admin/users/{target['id']}/deactivate", {"reason": ""})
        assert no_reason.status_code == 422
        ok = await client.post(f"/admin/users/{target['id']}/deactivate", {"reason": "left the firm"})
        assert ok.status_code == 303
        own = await client.post(f"/admin/users/{admin['id']}/reset-mfa", {"reason": "lost phone"})
        assert own.status_code == 403  # not on your own account
    assert (
        await StaffSession.count().where(
            (StaffSession.user == target["id"]) & StaffSession.ended_at.is_null()
        )
        == 0
    )
    assert await grants_for(target["id"]) == {}


async def test_password_and_mfa_resets_are_audited_with_reasons(app):
    admin = await make_user(roles={"EU": ["system_admin"]})
    target = await make_user(roles={"EU": ["sales_agent"]})
    async with StaffClient(app) as client:
        await client.sign_in_as(admin)
        page = await client.post(f"/admin/users/{target['id']}/reset-password", {"reason": "forgot it"})
        assert page.status_code == 200 and 'data-testid="one-time-password"' in page.text
        await client.post(f"/admin/users/{target['id']}/reset-mfa", {"reason": "new phone"})
    rows = {
        r["action"]: r for r in await AuditRecord.select().where(AuditRecord.target_id == str(target["id"]))
    }
    assert rows["identity:password:reset"]["reason"] == "forgot it"
    assert rows["identity:mfa:reset"]["reason"] == "new phone"


async def test_create_user_validates_and_gives_a_one_time_password(app):
    admin = await make_user(roles={"EU": ["system_admin"]})
    async with StaffClient(app) as client:
        await client.sign_in_as(admin)
        bad = await client.post("/admin/users/new", {"email": "not-an-email", "full_name": "", "reason": ""})
        assert bad.status_code == 422
        text = text_of(bad)
        assert "valid email" in text and "full name" in text
        ok = await client.post(
            "/admin/users/new",
            {
                "email": "New.Hire@Test.example",
                "full_name": "New Hire",
                "home_entity": admin["entities"]["EU"],
                "reason": "HR-123",
            },
        )
        assert ok.status_code == 200 and "one-time-password" in ok.text
        dup = await client.post(
            "/admin/users/new",
            {
                "email": "new.hire@test.example",
                "full_name": "Again",
                "home_entity": admin["entities"]["EU"],
                "reason": "HR-124",
            },
        )
        assert dup.status_code == 422 and "exists" in text_of(dup)
