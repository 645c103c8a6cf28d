"""The sales desk in a real browser: a CSV import with its live progress and validation report, routed by a
real worker; a preview of the rules with a hypothetical lead; an agent e-mails an imported lead and the worker
sends it through a real SMTP server."""

import asyncio

from playwright.async_api import expect

from crm.leads.tables import Lead
from tests.leads.factories import spanish_desk

CSV = (
    "first_name,last_name,email,phone,country,language\n"
    "Lucía,Gómez,lucia@example.es,+34 612 345 678,ES,es\n"
    "Marco,Rossi,marco@example.it,+39 312 345 6789,IT,it\n"
    "Bad,Row,not-an-email,123,Atlantis,xx\n"
)


async def test_import_with_live_progress_preview_and_email_a_lead(new_page, smtp, live_worker):
    tl, ana, bo = await spanish_desk("Bo General")

    desk = await new_page(tl)
    await desk.goto("/leads/imports")
    await desk.get_by_label("File").set_input_files(
        files=[{"name": "fair-leads.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    await desk.get_by_role("button", name="Import").click()
    await expect(desk.get_by_role("heading", name="fair-leads.csv")).to_be_visible()
    # the status line is pushed live by the job until it is done; no reload
    await expect(desk.get_by_test_id("import-status")).to_contain_text("done", timeout=20_000)
    await expect(desk.get_by_test_id("import-status")).to_contain_text("2 imported · 2 routed")
    await expect(desk.get_by_test_id("import-report")).to_contain_text("email")

    await desk.goto("/leads/routing/preview")
    await desk.get_by_label("Country").fill("MX")
    await desk.get_by_label("Language").fill("es")
    await desk.get_by_role("button", name="Preview").click()
    await expect(desk.get_by_test_id("preview-result")).to_contain_text("Goes to Ana Spanish")
    await expect(desk.get_by_test_id("preview-explanation")).to_contain_text("Spanish speakers")

    lucia = await Lead.select().where(Lead.email == "lucia@example.es").first()
    assert lucia["owner_id"] == ana["id"]
    agent = await new_page(ana)
    await agent.goto(f"/leads/{lucia['reference']}")
    await agent.get_by_role("button", name="Send e-mail").click()
    await expect(agent.get_by_text("1 to 200 characters.")).to_be_visible()  # refused, with the field named
    await agent.get_by_label("Subject").fill("Your account at the fair")
    await agent.get_by_label("Message").fill("Hola Lucía,\nthank you for visiting our stand.")
    await agent.get_by_role("button", name="Send e-mail").click()
    await expect(agent.get_by_test_id("email-out")).to_contain_text("Your account at the fair")
    for _ in range(40):  # the worker sends it; the timeline shows the outcome
        if "sent" in await agent.get_by_test_id("email-status").inner_text():
            break
        await asyncio.sleep(0.25)
        await agent.reload()
    await expect(agent.get_by_test_id("email-status")).to_have_text("sent")
    assert any(m[0] == ["lucia@example.es"] and "thank you for visiting" in m[1] for m in smtp.messages)
