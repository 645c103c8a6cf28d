"""The lists in a real browser: a column header sorts (and says so to a screen reader), the order and filter
are saved as a named view and come back in one click, and ticked cases change hands at once."""

import re

from playwright.async_api import expect

from crm.core.cases.service import open_case
from crm.core.context import Actor
from crm.core.db import current_connection, transaction
from crm.leads import service
from tests.factories import actor_for, make_user
from tests.leads.factories import raw_lead


async def test_sort_a_list_save_the_view_and_hand_ticked_cases_over(new_page, live_worker):
    lead = await make_user(roles={"EU": ["sales_team_lead", "compliance_officer"]}, full_name="Tess Lead")
    other = await make_user(roles={"EU": ["compliance_officer"]}, full_name="Olga Other")
    for n, score in enumerate((10, 90, 50)):
        await service.intake(
            Actor.system("test"),
            raw_lead(n, last_name=f"Score{score}"),
            channel="api",
            fallback_entity_id=lead["entities"]["EU"],
        )
        async with transaction():
            await current_connection().execute(
                "UPDATE lead SET score = $1 WHERE last_name = $2", score, f"Score{score}"
            )
    async with transaction():
        for n in range(3):
            await open_case(
                await actor_for(lead), "alert", entity_id=lead["entities"]["EU"], title=f"Alert {n}"
            )
    page = await new_page(lead)
    await page.goto("/leads/all?status=any")
    await page.get_by_role("link", name="Score").click()
    await expect(page).to_have_url(re.compile(r"sort=-score"))
    await expect(page.get_by_role("columnheader", name="Score")).to_have_attribute("aria-sort", "descending")
    names = page.get_by_test_id("leads").locator("tbody tr td:nth-child(3)")
    await expect(names.first).to_contain_text("Score90")
    await page.get_by_label("Name of the view").fill("Best first")
    await page.get_by_role("button", name="Save view").click()
    await expect(page.get_by_text("Saved the view “Best first”.")).to_be_visible()
    await page.goto("/leads/all")
    await page.get_by_test_id("saved-views").get_by_role("link", name="Best first").click()
    await expect(page).to_have_url(re.compile(r"status=any.*sort=-score"))
    await expect(names.first).to_contain_text("Score90")

    await page.goto("/cases/all")
    await page.get_by_role("checkbox", name=re.compile("Select CASE-")).first.check()
    async with transaction():  # the list re-renders live with the new case; the tick stays
        await open_case(
            await actor_for(lead), "alert", entity_id=lead["entities"]["EU"], title="Late arrival"
        )
    await expect(page.get_by_test_id("cases")).to_contain_text("Late arrival", timeout=15_000)
    await expect(page.get_by_role("checkbox", name=re.compile("Select CASE-")).first).to_be_checked()
    await page.get_by_role("checkbox", name=re.compile("Select CASE-")).nth(1).check()
    await page.get_by_label("Hand the ticked cases to").select_option(label="Olga Other")
    await page.get_by_label("Reason", exact=True).fill("Tess is on leave")
    await page.get_by_role("button", name="Assign").click()
    await expect(page.get_by_text("2 cases assigned.")).to_be_visible()  # the one ticked before and one more
    await expect(page.get_by_test_id("cases")).to_contain_text("Olga Other")
    assert other["id"]
