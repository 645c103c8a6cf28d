"""KYC requirements as versioned rules: drafted in the form with field errors, published only by a second
compliance officer, every version kept and audited; registration refuses a restricted country and the
documents page offers the identity documents accepted from the client's country."""

import pytest

from crm.core.approvals import service as approvals
from crm.core.approvals.tables import ApprovalRequest
from crm.core.audit.tables import AuditRecord
from crm.core.errors import SegregationOfDuties, ValidationFailed
from crm.core.rules import service as rules
from crm.kyc import requirements
from tests.factories import actor_for, make_user
from tests.http import StaffClient, text_of


async def publish(entity_code: str = "INTL", document: dict | None = None) -> dict:
    """Publish requirements for the entity through the real maker-checker path; returns the two officers."""
    maker = await make_user(roles={entity_code: ["compliance_officer"]})
    checker = await make_user(roles={entity_code: ["compliance_officer"]})
    entity_id = maker["entities"][entity_code]
    draft = await rules.save_draft(
        await actor_for(maker), requirements.KIND, entity_id, document or requirements.STARTING_POINT
    )
    request_id = await rules.submit(await actor_for(maker), draft["id"], "first requirements")
    request = await ApprovalRequest.select().where(ApprovalRequest.id == request_id).first()
    await approvals.approve(await actor_for(checker), request_id, request["payload_hash"])
    return {"maker": maker, "checker": checker, "entity_id": entity_id, "request": request}


async def test_a_draft_is_checked_and_published_only_by_a_second_officer():
    maker = await make_user(roles={"EU": ["compliance_officer"]})
    entity_id = maker["entities"]["EU"]
    bad = requirements.STARTING_POINT | {
        "restricted_countries": ["XX"],
        "levels": [{"code": "A B", "name": ""}],
    }
    with pytest.raises(ValidationFailed) as refused:
        await rules.save_draft(await actor_for(maker), requirements.KIND, entity_id, bad)
    assert {"restricted_countries", "level-0-code", "level-0-name"} <= set(refused.value.field_errors)
    draft = await rules.save_draft(
        await actor_for(maker), requirements.KIND, entity_id, requirements.STARTING_POINT
    )
    assert await requirements.in_force(entity_id) is None
    request_id = await rules.submit(await actor_for(maker), draft["id"], "the starting point")
    request = await ApprovalRequest.select().where(ApprovalRequest.id == request_id).first()
    assert request["kind"] == "kyc.requirements.publish"
    with pytest.raises(SegregationOfDuties):
        await approvals.approve(await actor_for(maker), request_id, request["payload_hash"])
    checker = await make_user(roles={"EU": ["compliance_officer"]})
    await approvals.approve(await actor_for(checker), request_id, request["payload_hash"])
    live = await requirements.in_force(entity_id)
    assert live["version"] == 1 and live["document"]["levels"][0]["deposit_limit"] == "2000.00"
    second = await rules.save_draft(
        await actor_for(maker),
        requirements.KIND,
        entity_id,
        requirements.STARTING_POINT | {"restricted_countries": ["US"]},
    )
    assert (
        second["version"] == 2 and (await requirements.in_force(entity_id))["version"] == 1
    )  # until approved
    actions = [a["action"] for a in await AuditRecord.select(AuditRecord.action).order_by(AuditRecord.seq)]
    assert actions.count("rules:version:draft") == 2 and "rules:version:publish" in actions


async def test_compliance_edits_requirements_in_the_form(app):
    officer = await make_user(roles={"INTL": ["compliance_officer"]})
    agent = await make_user(roles={"INTL": ["sales_agent"]})
    entity_id = officer["entities"]["INTL"]
    async with StaffClient(app) as http:
        await http.sign_in_as(officer)
        page = await http.get(f"/kyc/requirements/{entity_id}")
        assert page.status_code == 200 and 'value="Verified identity"' in page.text  # the suggested start
        form = {
            "restricted_countries": "US, KP",
            "proof_of_address_max_age_days": "90",
            "identity_default": ["passport", "id_card"],
            "country_rows": "1",
            "country-0-code": "NG",
            "country-0-docs": ["passport"],
            "level_rows": "1",
            "level-0-code": "basic",
            "level-0-name": "Basic",
            "level-0-requires": ["email", "identity", "selfie"],
            "level-0-unlocks": ["demo", "live_trading"],
            "level-0-deposit_limit": "abc",
        }
        refused = await http.post(f"/kyc/requirements/{entity_id}", form)
        assert refused.status_code == 422 and "An amount such as 2000" in text_of(refused)
        assert 'value="US, KP"' in refused.text  # nothing typed is lost
        saved = await http.post(f"/kyc/requirements/{entity_id}", form | {"level-0-deposit_limit": "500"})
        assert saved.status_code == 303
        draft = (await rules.versions(await actor_for(officer), requirements.KIND, entity_id))[0]
        assert draft["document"]["identity_documents"]["by_country"] == {"NG": ["passport"]}
        sent = await http.post(
            f"/kyc/requirements/versions/{draft['id']}/submit", {"reason": "Nigeria: passports"}
        )
        assert sent.status_code == 303 and sent.headers["location"].startswith("/approvals/")
        await http.sign_in_as(agent)
        assert (await http.get(f"/kyc/requirements/{entity_id}")).status_code == 403


async def test_registration_refuses_a_restricted_country_and_documents_follow_the_country(app):
    from tests.onboarding.test_client_portal import form as registration

    published = await publish(
        "INTL",
        requirements.STARTING_POINT
        | {"identity_documents": {"default": ["passport", "id_card"], "by_country": {"MX": ["passport"]}}},
    )
    assert published["entity_id"]
    async with StaffClient(app) as http:
        refused = await http.post("/portal/register", registration(country="US"))
        assert refused.status_code == 422 and "residents of this country" in text_of(refused)
        done = await http.post("/portal/register", registration(country="MX"))
        assert done.status_code == 303
        page = await http.get("/portal/documents")
        assert 'value="passport"' in page.text and 'value="id_card"' not in page.text
