"""Segregation of duties: neither the maker nor anyone a request benefits decides it, an admin cannot give
themselves (or anyone new) client data alone, and a policy can exclude a role from deciding. The table at
the end says who may decide what, for every approval kind."""

import datetime as dt

import pytest

from crm.clients.service import reveal_client_field
from crm.core.approvals import service as approvals
from crm.core.approvals.policy_changes import propose_policy
from crm.core.approvals.tables import ApprovalRequest
from crm.core.context import Actor
from crm.core.db import transaction
from crm.core.errors import DomainError, SegregationOfDuties
from crm.core.org.assignments import grant_role
from crm.core.org.grants import grants_for
from crm.core.org.roles import propose_role_change
from crm.core.org.tables import Role
from crm.settings import Settings
from tests.factories import actor_for, make_client, make_user
from tests.http import StaffClient, text_of


def in_days(days: int) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


async def role_id(slug: str) -> int:
    return (await Role.select(Role.id).where(Role.slug == slug).first())["id"]


async def grant(actor: Actor, user: dict, slug: str, entity: str = "EU", until: str | None = None):
    return await grant_role(
        actor,
        user_id=user["id"],
        role_id=await role_id(slug),
        entity_id=user["entities"][entity],
        team_id=None,
        valid_until=until,
        reason="cover",
    )


async def pending_request() -> dict:
    return await (
        ApprovalRequest.select()
        .where(ApprovalRequest.status == "pending")
        .order_by(ApprovalRequest.id, ascending=False)
        .first()
        .output(load_json=True)
    )


async def test_the_grantee_cannot_approve_their_own_privileged_grant(app):
    admin = await make_user(roles={"EU": ["system_admin"]})
    sysadmin = await make_user(roles={"EU": ["system_admin"]})
    third = await make_user(roles={"EU": ["system_admin"]})
    _, status = await grant(await actor_for(admin), sysadmin, "compliance_officer", until=in_days(2))
    assert status == "pending"
    request = await pending_request()
    assert request["conflicted_ids"] == [sysadmin["id"]]
    with pytest.raises(SegregationOfDuties, match="benefits you"):
        await approvals.approve(await actor_for(sysadmin), request["id"], request["payload_hash"])
    async with StaffClient(app) as client:
        await client.sign_in_as(sysadmin)
        page = text_of(await client.get(f"/approvals/{request['id']}"))
        assert "This request benefits you" in page and "Approve" not in page
        refused = await client.post(
            f"/approvals/{request['id']}/decide",
            {"decision": "approve", "payload_hash": request["payload_hash"]},
        )
        assert refused.status_code == 403 and "benefits you" in text_of(refused)
        # rejecting one's own grant is deciding it too
        refused = await client.post(
            f"/approvals/{request['id']}/decide", {"decision": "reject", "reason": "no"}
        )
        assert refused.status_code == 403
    assert "kyc:review:decide" not in (await grants_for(sysadmin["id"])).get(
        sysadmin["entities"]["EU"], set()
    )
    assert (
        await approvals.approve(await actor_for(third), request["id"], request["payload_hash"]) == "approved"
    )
    assert "kyc:review:decide" in (await grants_for(sysadmin["id"]))[sysadmin["entities"]["EU"]]


async def test_an_admin_cannot_give_themselves_client_data_alone(app):
    sysadmin = await make_user(roles={"EU": ["system_admin"]})
    other = await make_user(roles={"EU": ["system_admin"]})
    client = await make_client("EU", reference="CL-EU-0042", email="secret@client.example")
    _, status = await grant(await actor_for(sysadmin), sysadmin, "sales_agent")
    assert status == "pending"  # a self-grant, and the first client data this admin would hold
    request = await pending_request()
    assert request["payload"]["grounds"] == ["granted to oneself", "first access to client data"]
    with pytest.raises(SegregationOfDuties):
        await approvals.approve(await actor_for(sysadmin), request["id"], request["payload_hash"])
    with pytest.raises(DomainError):
        await reveal_client_field(
            await actor_for(sysadmin), client["id"], "email", "curious", Settings.from_env()
        )
    await approvals.approve(await actor_for(other), request["id"], request["payload_hash"])
    assert (await grants_for(sysadmin["id"]))[sysadmin["entities"]["EU"]] >= {"leads:lead:work"}


async def test_any_self_grant_and_first_client_data_wait_for_a_second_admin():
    admin = await make_user(roles={"EU": ["system_admin", "support_agent"]})
    newcomer = await make_user(roles={"EU": []})
    agent = await make_user(roles={"EU": ["support_agent"]})
    actor = await actor_for(admin)
    assert (await grant(actor, admin, "sales_agent"))[1] == "pending"  # to oneself, client data already held
    assert (await grant(actor, newcomer, "sales_agent"))[1] == "pending"  # first client data
    assert (await grant(actor, agent, "sales_agent"))[1] == "active"  # already works with client data
    assert (await grant(actor, newcomer, "auditor"))[1] == "active"  # no client data in it


async def test_holders_of_a_role_cannot_approve_adding_permissions_to_it():
    maker = await make_user(roles={"EU": ["super_admin"], "INTL": ["super_admin"]})
    holder = await make_user(roles={"EU": ["super_admin", "auditor"], "INTL": ["super_admin", "auditor"]})
    outsider = await make_user(roles={"EU": ["super_admin"], "INTL": ["super_admin"]})
    auditor = await Role.select().where(Role.slug == "auditor").first()
    async with transaction():
        request_id = await propose_role_change(
            await actor_for(maker),
            auditor["id"],
            {"name": auditor["name"], "reason": "reveal for audits"},
            [*auditor["permissions"], "clients:pii:reveal"],
        )
    request = await ApprovalRequest.select().where(ApprovalRequest.id == request_id).first()
    with pytest.raises(SegregationOfDuties, match="benefits you"):
        await approvals.approve(await actor_for(holder), request_id, request["payload_hash"])
    assert (
        await approvals.approve(await actor_for(outsider), request_id, request["payload_hash"]) == "approved"
    )


async def test_a_policy_can_exclude_a_role_from_deciding():
    maker = await make_user(roles={"EU": ["super_admin"]})
    policy_checker = await make_user(roles={"EU": ["super_admin"]})
    compliance = await make_user(roles={"EU": ["system_admin", "compliance_officer"]})
    plain = await make_user(roles={"EU": ["system_admin"]})
    target = await make_user(roles={"EU": ["support_agent"]})
    eu = maker["entities"]["EU"]
    policy_request = await propose_policy(
        await actor_for(maker),
        {
            "kind": "access.assignment.grant",
            "entity": str(eu),
            "above_1": "0",
            "approvals_1": "1",
            "exclude_1": "compliance_officer",
            "reason": "compliance staff do not approve access",
        },
    )
    policy = await ApprovalRequest.select().where(ApprovalRequest.id == policy_request).first()
    await approvals.approve(await actor_for(policy_checker), policy_request, policy["payload_hash"])
    await grant(await actor_for(maker), target, "compliance_officer", until=in_days(3))
    request = await pending_request()
    assert request["excluded_role"] == "compliance_officer"
    with pytest.raises(SegregationOfDuties, match="excludes holders of the role"):
        await approvals.approve(await actor_for(compliance), request["id"], request["payload_hash"])
    assert (
        await approvals.approve(await actor_for(plain), request["id"], request["payload_hash"]) == "approved"
    )


# Who may decide a request of each kind: the maker never; whoever it benefits never; a holder of the
# approver permission in its entity (every entity for a group-wide request) yes; anyone else no.
KINDS = {
    "access.assignment.grant": ("EU", lambda u: {"assignment_id": 0, "user": u["beneficiary"]["id"]}),
    "access.role.change": (
        None,
        lambda u: {"role_id": u["role"], "permissions": ["a", "b"], "previous_permissions": ["a"]},
    ),
    "approvals.policy.change": ("EU", lambda u: {"kind": "access.assignment.grant"}),
    "leads.rules.publish": ("EU", lambda u: {"version_id": 0}),
    "leads.entity_rules.change": (None, lambda u: {"version_id": 0}),
    "clients.notice.publish": ("EU", lambda u: {"notice_id": 0}),
    "kyc.screening.clear": ("EU", lambda u: {"match_id": 0, "client_id": 0}),
    "kyc.requirements.publish": ("EU", lambda u: {"version_id": 0}),
}
APPROVER_ROLE = {
    "access.assignment.grant": "system_admin",
    "access.role.change": "system_admin",
    "approvals.policy.change": "system_admin",
    "leads.rules.publish": "sales_team_lead",
    "leads.entity_rules.change": "sales_team_lead",
    "clients.notice.publish": "compliance_officer",
    "kyc.screening.clear": "compliance_officer",
    "kyc.requirements.publish": "compliance_officer",
}


async def test_who_may_decide_what_for_every_approval_kind():
    registered = {k for k in approvals.action_kind_names() if not k.startswith("test.")}  # other tests' kinds
    assert set(KINDS) == registered, "a new approval kind needs a row here"
    auditor_role = await role_id("auditor")
    for kind, (entity, payload) in KINDS.items():
        role = APPROVER_ROLE[kind]
        everywhere = {"EU": [role], "INTL": [role]}
        users = {
            "maker": await make_user(roles=everywhere),
            "beneficiary": await make_user(roles={"EU": [role, "auditor"], "INTL": [role, "auditor"]}),
            "checker": await make_user(roles=everywhere),
            "other_entity": await make_user(roles={"INTL": [role]}),
            "unpermitted": await make_user(roles={"EU": ["auditor"], "INTL": ["auditor"]}),
        }
        entity_id = users["maker"]["entities"]["EU"] if entity else None
        async with transaction():
            request_id = await approvals.request_approval(
                await actor_for(users["maker"]),
                kind,
                entity_id=entity_id,
                target_type="test",
                target_id=1,
                target_label=kind,
                payload=payload({**users, "role": auditor_role}),
                reason="table",
            )
        request = await ApprovalRequest.select().where(ApprovalRequest.id == request_id).first()
        decides = {}
        for who, user in users.items():
            actor = await actor_for(user)
            decides[who] = not await approvals.conflict_of(actor, request) and await approvals.may_decide(
                actor, request
            )
        benefits = kind in ("access.assignment.grant", "access.role.change")
        expected = {
            "maker": False,
            "beneficiary": not benefits,
            "checker": True,
            "other_entity": False,
            "unpermitted": False,
        }
        assert decides == expected, kind
