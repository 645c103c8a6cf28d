"""The public form in a real browser: the brand of the link, the privacy notice of the entity the chosen
country leads to (swapped in as the country changes), a refusal until it is accepted, and the consent kept
with the lead."""

from playwright.async_api import expect

from crm.clients.demo import load_client_facing_demo
from crm.clients.tables import Consent, PrivacyNotice
from crm.core.db import current_connection, transaction
from crm.leads.tables import Lead
from tests.factories import make_entity


async def test_a_prospect_accepts_the_notice_of_the_entity_their_country_leads_to(new_page):
    eu = await make_entity("EU", name="Aurora Markets (Europe) Ltd")
    uk = await make_entity("UK", name="Aurora Markets UK Ltd", regulator="FCA")
    await load_client_facing_demo({"EU": eu, "UK": uk})
    async with transaction():
        await current_connection().execute(
            "INSERT INTO lead_entity_rule (position, brand, countries, entity_id) VALUES "
            "(1, '', '[\"GB\"]'::jsonb, $1), (2, '', '[]'::jsonb, $2)",
            uk,
            eu,
        )
    page = await new_page()
    await page.goto("/register?brand=borealis")
    await expect(page.locator(".public-brand")).to_contain_text("Borealis FX")
    consent = page.get_by_role("checkbox", name="I have read the privacy notice")
    await expect(consent).to_be_visible()
    await expect(page.locator("#consent")).to_contain_text("Aurora Markets (Europe) Ltd")
    await page.get_by_label("First name").fill("Harry")
    await page.get_by_label("Last name").fill("Jones")
    await page.get_by_label("E-mail").fill("harry@example.co.uk")
    await page.get_by_label("Phone (with country code)").fill("+44 7911 123456")
    await page.get_by_label("Country of residence").select_option("GB")
    await expect(page.locator("#consent")).to_contain_text("Aurora Markets UK Ltd")  # swapped by htmx
    await page.get_by_role("button", name="Request a call").click()
    await expect(
        page.get_by_text("Please read and accept the privacy notice of Aurora Markets UK Ltd")
    ).to_be_visible()
    await expect(page.get_by_label("First name")).to_have_value("Harry")  # nothing typed is lost
    await page.get_by_role("checkbox", name="I have read the privacy notice").check()
    await page.get_by_role("checkbox", name="Send me market news").check()
    await page.get_by_role("button", name="Request a call").click()
    await expect(page.get_by_test_id("registered")).to_contain_text("LD-")
    lead = await Lead.select().first()
    uk_notice = await PrivacyNotice.select().where(PrivacyNotice.entity == uk).first()
    rows = await Consent.select().order_by(Consent.id)
    assert lead["entity_id"] == uk and lead["brand"] == "borealis"
    assert [(r["kind"], r["granted"], r["notice"]) for r in rows] == [
        ("privacy", True, uk_notice["id"]),
        ("marketing", True, None),
    ]
    assert rows[0]["ip"] and "Chrome" in rows[0]["user_agent"]
