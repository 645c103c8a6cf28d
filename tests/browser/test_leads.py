"""Lead routing in real browsers: a lead sent through the public form appears live in the right agent's list
(and badge); when the follow-up SLA is breached, the lead moves live to the next agent."""

import asyncio
import datetime as dt

from playwright.async_api import expect

from crm.core.cases.escalation import escalate_overdue
from crm.core.cases.tables import WorkCase
from crm.leads.tables import Lead
from tests.leads.factories import spanish_desk


async def test_a_form_lead_reaches_the_right_agent_live_then_moves_on_an_sla_breach(new_page, live_worker):
    tl, ana, bo = await spanish_desk()

    ana_page = await new_page(ana)
    await ana_page.goto("/leads")
    await expect(ana_page.get_by_test_id("leads")).to_contain_text("No leads")
    bo_page = await new_page(bo)
    await bo_page.goto("/leads")
    await asyncio.sleep(0.3)  # let the streams connect

    visitor = await new_page()
    await visitor.goto("/register?utm_source=facebook&utm_campaign=gold")
    await visitor.get_by_label("First name").fill("Lucía")
    await visitor.get_by_label("Last name").fill("Gómez")
    await visitor.get_by_label("E-mail").fill("lucia@example.es")
    await visitor.get_by_label("Phone (with country code)").fill("+34 612 345 678")
    await visitor.get_by_label("Country of residence").select_option("ES")
    await visitor.get_by_label("Preferred language").select_option("es")
    await visitor.get_by_role("button", name="Request a call").click()
    await expect(visitor.get_by_test_id("registered")).to_contain_text("LD-")

    # the first event waits for the freshly started worker; later ones arrive in well under a second
    await expect(ana_page.get_by_test_id("leads")).to_contain_text("Lucía Gómez", timeout=15_000)
    await expect(ana_page.get_by_test_id("unread")).to_have_text("1", timeout=5000)
    await expect(bo_page.get_by_test_id("leads")).not_to_contain_text("Lucía")
    await ana_page.get_by_role("link", name="LD-").first.click()
    await expect(ana_page.get_by_test_id("explanation")).to_contain_text("Spanish speakers")
    await expect(ana_page.get_by_test_id("contact-phone")).not_to_contain_text("612 345 678")  # masked
    await ana_page.goto("/leads")

    lead = await Lead.select().first()
    await WorkCase.update({WorkCase.sla_due_at: dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)}).where(
        WorkCase.id == lead["case_id"]
    )
    await escalate_overdue()  # what the escalation cron does every 30 s
    await expect(bo_page.get_by_test_id("leads")).to_contain_text("Lucía Gómez", timeout=5000)
    await expect(ana_page.get_by_test_id("leads")).not_to_contain_text("Lucía", timeout=5000)

    desk = await new_page(tl)
    await desk.goto(f"/leads/{lead['reference']}")
    await expect(desk.get_by_test_id("lead-owner")).to_contain_text("Bo English")
    await expect(desk.get_by_test_id("timeline")).to_contain_text("missed the follow-up SLA")
    await desk.goto("/leads/dashboard")
    await expect(desk.get_by_test_id("breaches")).to_contain_text("Ana Spanish")
