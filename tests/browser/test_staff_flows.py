"""User flows of the staff back office in real headless Chromium."""

import datetime as dt
from urllib.parse import unquote

import pyotp
from playwright.async_api import expect

from crm.core.org.tables import Role
from tests.factories import PASSWORD, make_client, make_user


async def test_first_sign_in_enrols_mfa_and_shows_navigation_for_the_role(new_page):
    user = await make_user(
        "agent@test.example", roles={"EU": ["sales_agent"]}, enrolled=False, full_name="Ana Agent"
    )
    page = await new_page()
    await page.goto("/clients")
    await page.get_by_label("Email").fill(user["email"])
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    secret = await page.get_by_test_id("totp-secret").inner_text()
    await page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Confirm").click()
    await expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    codes = await page.get_by_test_id("recovery-codes").locator("li").all_inner_texts()
    href = await page.get_by_test_id("download-codes").get_attribute("href")
    assert href.startswith("data:text/plain") and all(code in unquote(href) for code in codes)
    assert "\n".join(codes) in unquote(href)
    await expect(page.get_by_test_id("copy-codes")).to_be_visible()
    await page.get_by_role("link", name="I have saved them, continue").click()
    await expect(page.get_by_role("heading", name="Clients")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Clients")).to_be_visible()
    await expect(nav.get_by_role("link", name="Audit trail")).to_have_count(0)
    await expect(nav.get_by_role("link", name="Staff users")).to_have_count(0)


async def test_navigation_is_filtered_by_role(new_page):
    auditor = await make_user(roles={"EU": ["auditor"]})
    sysadmin = await make_user(roles={"EU": ["system_admin"]})
    page = await new_page(auditor)
    await page.goto("/")
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Audit trail")).to_be_visible()
    await expect(nav.get_by_role("link", name="Roles")).to_have_count(0)
    page = await new_page(sysadmin)
    await page.goto("/")
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Staff users")).to_be_visible()
    await expect(nav.get_by_role("link", name="Roles")).to_be_visible()
    await expect(nav.get_by_role("link", name="Clients")).to_have_count(0)  # no client PII for system admins
    response = await page.goto("/clients")
    assert response.status == 403


async def test_privileged_grant_needs_a_second_admin(new_page):
    maker = await make_user("maker@test.example", roles={"EU": ["system_admin"]}, full_name="Mia Maker")
    checker = await make_user(
        "checker@test.example", roles={"EU": ["system_admin"]}, full_name="Carl Checker"
    )
    target = await make_user("target@test.example", roles={"EU": []}, full_name="Tom Target")
    role = await Role.select(Role.id).where(Role.slug == "compliance_officer").first()
    page = await new_page(maker)
    await page.goto(f"/admin/users/{target['id']}")
    await page.get_by_label("Role", exact=True).select_option(str(role["id"]))
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    await page.get_by_label("Valid until").fill(until)
    await page.locator("#g-reason").fill("covering the compliance desk")
    await page.get_by_role("button", name="Grant").click()
    await expect(page.get_by_role("status")).to_contain_text("another administrator must approve")
    await expect(page.get_by_test_id("assignments")).to_contain_text("Pending approval")
    await page.goto("/approvals")
    await page.get_by_role("link", name="Compliance officer for Tom Target in EU").click()
    await expect(page.get_by_text("You made this request")).to_be_visible()
    await expect(page.get_by_role("button", name="Approve")).to_have_count(0)

    other = await new_page(checker)
    await other.goto("/")
    await other.get_by_role("link", name="Compliance officer for Tom Target in EU").click()
    await expect(other.get_by_text("covering the compliance desk")).to_be_visible()
    await other.get_by_role("button", name="Approve").click()
    await expect(other.get_by_role("status")).to_contain_text("Approved and carried out")
    await other.goto(f"/admin/users/{target['id']}")
    await expect(other.get_by_test_id("assignments")).to_contain_text("Active")
    await expect(other.get_by_test_id("permission-history")).to_contain_text("Role granted")


async def test_the_grantee_cannot_approve_their_own_grant(new_page):
    """A system admin grants themselves a sales role: it waits, they cannot decide it, another admin can."""
    own = await make_user("self@test.example", roles={"EU": ["system_admin"]}, full_name="Sam Self")
    other = await make_user("other@test.example", roles={"EU": ["system_admin"]}, full_name="Olly Other")
    role = await Role.select(Role.id).where(Role.slug == "sales_agent").first()
    page = await new_page(own)
    await page.goto(f"/admin/users/{own['id']}")
    await page.get_by_label("Role", exact=True).select_option(str(role["id"]))
    await page.locator("#g-reason").fill("helping the desk this week")
    await page.get_by_role("button", name="Grant").click()
    await expect(page.get_by_role("status")).to_contain_text("a grant to oneself")
    await page.goto("/approvals")
    await page.get_by_role("link", name="Sales agent for Sam Self in EU").click()
    await expect(page.get_by_test_id("approval-conflict")).to_contain_text("You made this request")
    await expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    checker = await new_page(other)
    await checker.goto("/approvals")
    await checker.get_by_role("link", name="Sales agent for Sam Self in EU").click()
    for width, height in ((1366, 768), (390, 844)):
        await checker.set_viewport_size({"width": width, "height": height})
        await checker.screenshot(path=f"/tmp/shot-approval-{width}.png", full_page=True)
    await checker.get_by_role("button", name="Approve").click()
    await expect(checker.get_by_role("status")).to_contain_text("Approved and carried out")


async def test_pii_reveal_with_reason_appears_in_the_audit_screen(new_page):
    officer = await make_user(roles={"EU": ["compliance_officer"]}, full_name="Olga Officer")
    client = await make_client("EU", email="hidden.person@example.com")
    page = await new_page(officer)
    await page.goto(f"/clients/{client['id']}")
    email = page.get_by_test_id("pii-email")
    await expect(email).not_to_contain_text("hidden.person@example.com")
    await page.locator("#pii-email summary").click()
    await page.locator("#reason-email").fill("no")
    await page.get_by_role("button", name="Reveal email").click()
    assert await page.locator("#reason-email").evaluate(
        "e => e.validity.tooShort"
    )  # the browser asks for more
    await page.locator("#reason-email").fill("verifying caller for case CASE-000042")
    await page.get_by_role("button", name="Reveal email").click()
    await expect(page.get_by_test_id("pii-email")).to_have_text("hidden.person@example.com")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit trail").click()
    await page.get_by_label("Action").select_option(label="Client personal data revealed")
    await page.get_by_role("button", name="Filter").click()
    table = page.locator(".audit-table")
    await expect(table).to_contain_text("verifying caller for case CASE-000042")
    await expect(table).to_contain_text("Olga Officer")


async def test_the_top_bar_search_finds_a_lead_by_phone_without_showing_it(new_page):
    from crm.core.context import Actor
    from crm.leads import service
    from tests.leads.factories import make_pool, make_team, publish_rules, raw_lead

    lead_user = await make_user(roles={"EU": ["sales_team_lead"]}, full_name="Tess Lead")
    entity = lead_user["entities"]["EU"]
    pool = await make_pool(entity, "Solo", [(lead_user["id"], 1, 50)], team_id=await make_team(entity))
    await publish_rules("routing", entity, {"rules": [], "fallback_pool_id": pool})
    lead = (
        await service.intake(
            Actor.system("test"), raw_lead(5, first_name="Nadia", last_name="Haddad"), channel="api"
        )
    ).lead
    page = await new_page(lead_user)
    await page.goto("/")
    await page.get_by_label("Search leads and clients").fill("+44 7911 000005")
    await page.get_by_label("Search leads and clients").press("Enter")
    results = page.get_by_test_id("search-results")
    await expect(results).to_contain_text("Nadia Haddad")
    await expect(results).not_to_contain_text("000005")
    for width, height in ((1366, 768), (1024, 768)):
        await page.set_viewport_size({"width": width, "height": height})
        await page.screenshot(path=f"/tmp/shot-search-{width}.png", full_page=True)
    await results.get_by_role("link", name="Nadia Haddad").click()
    await expect(page).to_have_url(f"/leads/{lead['reference']}")
