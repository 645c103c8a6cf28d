"""Approval policies as data: tiers by amount, a required role among the approvers, entity over group
default."""

from decimal import Decimal

import pytest

from crm.core.approvals import service as approvals
from crm.core.approvals.policies import parse_tiers
from crm.core.approvals.tables import ApprovalPolicy, ApprovalRequest
from crm.core.db import transaction
from crm.core.errors import ValidationFailed
from crm.core.permissions import Permission
from tests.factories import actor_for, make_user

executed: list[dict] = []


async def _execute(actor, request):
    executed.append(request)


approvals.register_action(
    approvals.ActionKind(
        name="test.withdrawal",
        label="Test withdrawal",
        approver_permission=Permission.PAYMENTS_TRANSACTION_VIEW,
        execute=_execute,
    )
)

TIERS = [
    {"above": "0", "approvals": 1},
    {"above": "10000", "approvals": 2, "require_role": "compliance_officer"},
]


async def ask(maker: dict, amount: str | None) -> dict:
    async with transaction():
        request_id = await approvals.request_approval(
            await actor_for(maker),
            "test.withdrawal",
            entity_id=maker["entities"]["EU"],
            target_type="withdrawal",
            target_id=1,
            target_label="withdrawal 1",
            payload={"amount": amount},
            reason="client asked",
            amount=Decimal(amount) if amount else None,
        )
    return await ApprovalRequest.select().where(ApprovalRequest.id == request_id).first()


@pytest.fixture
async def people():
    executed.clear()
    return {
        "maker": await make_user(roles={"EU": ["payments_officer"]}),
        "payments": [await make_user(roles={"EU": ["payments_officer"]}) for _ in range(2)],
        "compliance": await make_user(roles={"EU": ["compliance_officer"]}),
    }


async def test_without_a_policy_the_kinds_default_applies(people):
    request = await ask(people["maker"], "50000")
    assert request["required_approvals"] == 1 and request["policy_id"] is None


async def test_tiers_by_amount_and_a_required_role(people):
    await ApprovalPolicy.insert(ApprovalPolicy(kind="test.withdrawal", entity_id=None, tiers=TIERS))
    small = await ask(people["maker"], "9999.99")
    assert small["required_approvals"] == 1 and small["required_role"] is None
    boundary = await ask(people["maker"], "10000")
    assert boundary["required_approvals"] == 1  # "above 10,000" is strict
    big = await ask(people["maker"], "25000")
    assert big["required_approvals"] == 2 and big["required_role"] == "compliance_officer"
    for checker in people["payments"]:  # two payments officers: enough hands, not the required role
        status = await approvals.approve(await actor_for(checker), big["id"], big["payload_hash"])
        assert status == "pending"
    status = await approvals.approve(await actor_for(people["compliance"]), big["id"], big["payload_hash"])
    assert status == "approved" and [r["id"] for r in executed] == [big["id"]]


async def test_the_entitys_own_policy_beats_the_group_default(people):
    entity = people["maker"]["entities"]["EU"]
    await ApprovalPolicy.insert(
        ApprovalPolicy(kind="test.withdrawal", entity_id=None, tiers=TIERS),
        ApprovalPolicy(
            kind="test.withdrawal", entity_id=entity, tiers=[{"above": "0", "approvals": 3}], version=4
        ),
    )
    request = await ask(people["maker"], "5")
    assert request["required_approvals"] == 3 and request["policy_version"] == 4


def test_bad_tiers_are_refused_with_reasons():
    with pytest.raises(ValidationFailed) as exc:
        parse_tiers([{"above": "abc", "approvals": 1}, {"above": "5", "approvals": 9}])
    assert "tier 1" in exc.value.field_errors["tiers"] and "tier 2" in exc.value.field_errors["tiers"]
    with pytest.raises(ValidationFailed):
        parse_tiers([])


async def test_policy_changes_go_through_a_second_admin(app):
    from crm.core.audit.tables import AuditRecord
    from tests.http import StaffClient, text_of

    maker = await make_user(roles={"EU": ["super_admin"]})
    checker = await make_user(roles={"EU": ["super_admin"]})
    async with StaffClient(app) as http:
        await http.sign_in_as(maker)
        bad = await http.post(
            "/admin/approval-policies",
            {"kind": "test.withdrawal", "above_1": "x", "approvals_1": "1", "reason": "limits"},
        )
        assert bad.status_code == 422 and "tier 1" in text_of(bad)
        ok = await http.post(
            "/admin/approval-policies",
            {
                "kind": "test.withdrawal",
                "entity": maker["entities"]["EU"],
                "above_1": "0",
                "approvals_1": "1",
                "above_2": "5000",
                "approvals_2": "2",
                "role_2": "compliance_officer",
                "reason": "board decision",
            },
        )
        assert ok.status_code == 303
        assert "No policies" in text_of(await http.get("/admin/approval-policies"))  # not before approval
    request = await ApprovalRequest.select().where(ApprovalRequest.kind == "approvals.policy.change").first()
    await approvals.approve(await actor_for(checker), request["id"], request["payload_hash"])
    async with StaffClient(app) as http:
        await http.sign_in_as(checker)
        assert "one a compliance officer" in text_of(await http.get("/admin/approval-policies"))
    assert await AuditRecord.exists().where(AuditRecord.action == "approvals:policy:change")
    people = await make_user(roles={"EU": ["payments_officer"]})
    assert (await ask(people, "6000"))["required_approvals"] == 2
