"""What a prospect sees and agrees to: brands dress the public form, each entity's privacy notice is
versioned data published by a second person, and the form records the consent with the lead (the exact
version, time, IP) in the intake's transaction, or refuses with the reason and keeps what was typed."""

import json

from crm.clients import brands, notices
from crm.clients.demo import NOTICE
from crm.clients.tables import Consent, PrivacyNotice
from crm.core.approvals.tables import ApprovalRequest
from crm.core.audit.tables import AuditRecord
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import PermissionDenied, ValidationFailed
from crm.leads.tables import Lead
from tests.factories import actor_for, make_entity, make_user
from tests.http import StaffClient, text_of

TEXT = NOTICE.format(name="Entity EU", regulator="CySEC")
PERSON = {
    "first_name": "Ann",
    "last_name": "Lee",
    "email": "ann@example.co.uk",
    "phone": "07911 123456",
    "country": "GB",
}


async def published_notice(entity_id: int, version: int = 1, body: str = TEXT) -> int:
    async with transaction():
        conn = current_connection()
        await conn.execute(
            "UPDATE privacy_notice SET status = 'retired' WHERE entity = $1 AND status = 'published'",
            entity_id,
        )
        return await conn.fetchval(
            "INSERT INTO privacy_notice (entity, version, title, body, status, created_at, published_at) "
            "VALUES ($1, $2, 'Privacy notice', $3, 'published', now(), now()) RETURNING id",
            entity_id,
            version,
            body,
        )


def test_a_notice_body_reads_as_headings_paragraphs_and_lists():
    parts = notices.blocks("## Who\nWe hold\nyour data.\n\n- one\n  continued\n- two\n\n\n")
    assert [(b.kind, b.lines) for b in parts] == [
        ("heading", ("Who",)),
        ("paragraph", ("We hold your data.",)),
        ("list", ("one continued", "two")),
    ]


async def test_a_privacy_notice_is_published_only_when_a_second_person_approves(app):
    maker = await make_user(roles={"EU": ["compliance_officer"]}, full_name="Mia Maker")
    checker = await make_user(roles={"EU": ["compliance_officer"]}, full_name="Carl Checker")
    outsider = await make_user(roles={"EU": ["sales_agent"]})
    entity = maker["entities"]["EU"]
    old = await published_notice(entity)
    url = f"/admin/privacy-notices/{entity}"
    async with StaffClient(app) as http:
        await http.sign_in_as(outsider)
        assert (await http.get(url)).status_code == 403
        await http.sign_in_as(maker)
        assert "Version 1" in text_of(await http.get("/admin/privacy-notices"))
        short = await http.post(url, {"title": "x", "body": "too short", "action": "save"})
        assert short.status_code == 422 and "too short to tell a person" in text_of(short)
        assert "too short" in short.text  # the typed text is kept
        preview = await http.post(
            url, {"title": "Notice v2", "body": TEXT + "\n\n## New\nMore.", "action": "preview"}
        )
        assert preview.status_code == 200 and "More." in text_of(preview)
        assert await PrivacyNotice.count() == 1  # a preview saves nothing
        no_reason = await http.post(
            url, {"title": "Notice v2", "body": TEXT + "\n\nMore.", "action": "submit"}
        )
        assert no_reason.status_code == 422
        sent = await http.post(
            url,
            {"title": "Notice v2", "body": TEXT + "\n\nMore.", "action": "submit", "reason": "DPO review"},
        )
        assert sent.status_code == 303
        frozen = await http.post(url, {"title": "Notice v2b", "body": TEXT, "action": "save"})
        assert frozen.status_code == 409
        request = (
            await ApprovalRequest.select().where(ApprovalRequest.kind == "clients.notice.publish").first()
        )
        decide = f"/approvals/{request['id']}/decide"
        own = await http.post(
            decide, {"decision": "approve", "reason": "ok", "payload_hash": request["payload_hash"]}
        )
        assert own.status_code in (403, 409, 422)  # a maker never approves their own change
        await http.sign_in_as(checker)
        ok = await http.post(
            decide, {"decision": "approve", "reason": "read", "payload_hash": request["payload_hash"]}
        )
        assert ok.status_code == 303, ok.text
        public = await http.get("/privacy/EU")
        assert "version 2" in text_of(public) and "More." in text_of(public)
        retired = await http.get("/privacy/eu/v1")
        assert retired.status_code == 200 and "replaced by a newer version" in text_of(retired)
        for missing in ("/privacy/EU/v3", "/privacy/XX", "/privacy/EU/v99999999999", "/privacy/EU/vx"):
            assert (await http.get(missing)).status_code == 404, missing
    rows = {r["version"]: r["status"] for r in await PrivacyNotice.select()}
    assert rows == {1: "retired", 2: "published"} and old
    actions = [r["action"] for r in await AuditRecord.select(AuditRecord.action).order_by(AuditRecord.seq)]
    assert "clients:notice:draft" in actions and "clients:notice:publish" in actions


async def test_the_public_form_records_the_consent_with_the_lead(app):
    eu = await make_entity("EU", name="Aurora Markets (Europe) Ltd")
    notice_id = await published_notice(eu)
    async with transaction():
        await current_connection().execute(
            "INSERT INTO brand (code, name, accent, risk_warning, active, updated_at) VALUES ('aurora', "
            "'Aurora Markets', '#1d4ed8', '74% of retail investor accounts lose money.', true, now())"
        )
    async with StaffClient(app) as http:
        page = await http.get("/register?brand=unknown")
        assert "Aurora Markets" in text_of(page) and "74% of retail investor accounts" in text_of(page)
        assert (
            f'name="notice_id" value="{notice_id}"' in page.text
            and "<title>Open an account · Aurora" in page.text
        )
        fragment = await http.get("/register/consent?country=GB&brand=aurora")
        assert "privacy notice of Aurora Markets (Europe) Ltd (version 1)" in text_of(fragment)
        unticked = await http.post("/register", PERSON | {"email": "ann@", "notice_id": str(notice_id)})
        assert unticked.status_code == 422
        said = text_of(unticked)
        assert "Please read and accept the privacy notice of Aurora Markets (Europe) Ltd" in said
        assert "This is not an e-mail address" in said  # the other fields' errors at the same time
        assert 'value="Ann"' in unticked.text
        stale = await http.post("/register", PERSON | {"consent": "on", "notice_id": "999"})
        assert stale.status_code == 422 and "Please read and accept" in text_of(stale)
        assert await Lead.count() == 0  # refused before or inside the intake: nothing saved
        ok = await http.post(
            "/register",
            PERSON | {"consent": "on", "notice_id": str(notice_id), "brand": "aurora"},
            headers={"user-agent": "Mozilla/5.0 test"},
        )
        assert ok.status_code == 200 and "LD-" in text_of(ok)
    lead = await Lead.select().first()
    assert lead["brand"] == "aurora"
    consents = await Consent.select().order_by(Consent.id)
    assert [(c["kind"], c["granted"], c["notice_version"]) for c in consents] == [
        ("privacy", True, 1),
        ("marketing", False, None),
    ]
    assert all(c["lead_id"] == lead["id"] and c["user_agent"] == "Mozilla/5.0 test" for c in consents)
    audit = await AuditRecord.select().where(AuditRecord.action == "leads:lead:create").first()
    noted = json.loads(audit["after"])
    assert noted["privacy_notice"] == "v1" and noted["marketing_consent"] is False
    # staff see the consent on the lead, linked to the words accepted
    agent = await make_user(roles={"EU": ["sales_team_lead"]})
    async with StaffClient(app) as http:
        await http.sign_in_as(agent)
        detail = await http.get(f"/leads/{lead['reference']}")
        assert "Privacy notice v1 accepted" in text_of(detail) and "Marketing declined" in text_of(detail)
        assert "/privacy/EU/v1" in detail.text


async def test_without_a_notice_the_form_asks_only_about_marketing(app):
    await make_entity("EU")
    async with StaffClient(app) as http:
        page = await http.get("/register")
        assert 'name="consent"' not in page.text and 'name="marketing"' in page.text
        ok = await http.post("/register", PERSON | {"marketing": "on"})
        assert ok.status_code == 200
    assert [(c["kind"], c["granted"]) for c in await Consent.select()] == [("marketing", True)]


async def test_brands_are_edited_by_group_wide_entity_admins_and_must_stay_readable(app):
    admin = await make_user(roles={"EU": ["system_admin"], "UK": ["system_admin"]})
    eu_only = await make_user(roles={"EU": ["system_admin"], "UK": []})
    await make_entity("UK")
    form = {"code": "Borealis", "name": "Borealis FX", "accent": "#0f766e", "active": "on"}
    try:
        await brands.save(await actor_for(eu_only), None, form)
    except PermissionDenied:
        pass
    else:
        raise AssertionError("an admin of one entity edited a group-wide brand")
    async with StaffClient(app) as http:
        await http.sign_in_as(admin)
        pale = await http.post("/admin/brands", form | {"accent": "#fde047"})
        assert pale.status_code == 422 and "hard to read" in text_of(pale)
        bad_code = await http.post("/admin/brands", form | {"code": "no spaces!"})
        assert bad_code.status_code == 422 and "lower-case letters" in text_of(bad_code)
        ok = await http.post("/admin/brands", form)
        assert ok.status_code == 303
        again = await http.post("/admin/brands", form)
        assert again.status_code == 422 and "Another brand has this code" in text_of(again)
        listed = await http.get("/admin/brands")
        assert "/register?brand=borealis" in listed.text
    assert brands.contrast_on_white("#1d4ed8") > 4.5 > brands.contrast_on_white("#fde047")
    saved = await fetch("SELECT after FROM audit_record WHERE action = 'clients:brand:save'")
    assert json.loads(saved[0]["after"])["code"] == "borealis"
    try:
        notices.check({"title": "ok title", "body": "x" * 50_000})
    except ValidationFailed as refused:
        assert "longer than" in refused.field_errors["body"]
