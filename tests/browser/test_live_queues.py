"""Live queues in two browsers: a case opened by one user appears in a colleague's open queue without a
reload, and never in the queue of a user of another entity."""

import asyncio

from playwright.async_api import expect

from crm.core.org.tables import Team
from tests.factories import make_user


async def make_team(entity_id: int, name: str) -> int:
    return (await Team.insert(Team(entity=entity_id, name=name, kind="compliance")).returning(Team.id))[0][
        "id"
    ]


async def test_a_new_case_appears_live_in_the_right_queues_only(new_page, live_worker):
    maker = await make_user(roles={"EU": ["compliance_officer"]}, full_name="Mara Maker")
    colleague = await make_user(roles={"EU": ["compliance_officer"]}, full_name="Cole Colleague")
    outsider = await make_user(roles={"INTL": ["compliance_officer"]}, full_name="Otto Outsider")
    eu_queue = await make_team(maker["entities"]["EU"], "Compliance EU")
    intl_queue = await make_team(outsider["entities"]["INTL"], "Compliance INTL")

    watcher = await new_page(colleague)
    await watcher.goto(f"/cases/queues/{eu_queue}")
    await expect(watcher.get_by_test_id("cases")).to_contain_text("No cases")
    other = await new_page(outsider)
    await other.goto(f"/cases/queues/{intl_queue}")
    mine = await new_page(colleague)
    await mine.goto("/cases")
    overview = await new_page(colleague)
    await overview.goto("/cases/all?kind=alert")
    await expect(overview.get_by_test_id("case-counts")).to_contain_text("0 matching")
    await asyncio.sleep(0.3)  # let the streams connect

    page = await new_page(maker)
    await page.goto("/cases/new")
    await page.get_by_label("Kind").select_option("alert")
    await page.get_by_label("Title").fill("Deposits tenfold this month")
    await page.get_by_label("Queue").select_option(str(eu_queue))
    await page.get_by_role("button", name="Open case").click()
    await expect(page.get_by_test_id("case-status")).to_have_text("Open")

    await expect(watcher.get_by_test_id("cases")).to_contain_text("Deposits tenfold this month", timeout=5000)
    await expect(watcher.get_by_test_id("queue-counts")).to_contain_text("1 waiting for someone")
    await expect(mine.get_by_test_id("queues")).to_contain_text("Compliance EU")
    await expect(overview.get_by_test_id("case-counts")).to_contain_text("1 matching · 1 waiting for someone")
    await expect(overview.get_by_test_id("cases")).to_contain_text("Deposits tenfold this month")

    await watcher.get_by_role("button", name="Take next").click()
    await expect(watcher.get_by_test_id("case-assignee")).to_have_text("Cole Colleague")
    await expect(mine.get_by_test_id("cases")).to_contain_text("Deposits tenfold this month", timeout=5000)

    await asyncio.sleep(0.5)
    await expect(other.get_by_test_id("cases")).not_to_contain_text("Deposits tenfold")
    await other.reload()
    await expect(other.get_by_test_id("cases")).to_contain_text("No cases")


async def test_the_unread_badge_updates_live_when_a_case_is_assigned_to_me(new_page, live_worker):
    lead = await make_user(roles={"EU": ["compliance_officer"]}, full_name="Lena Lead")
    agent = await make_user(roles={"EU": ["compliance_officer"]}, full_name="Ari Agent")
    queue = await make_team(lead["entities"]["EU"], "Compliance EU")
    inbox = await new_page(agent)
    await inbox.goto("/cases")
    await expect(inbox.get_by_test_id("unread")).to_have_count(0)
    await asyncio.sleep(0.3)

    page = await new_page(lead)
    await page.goto("/cases/new")
    await page.get_by_label("Kind").select_option("alert")
    await page.get_by_label("Title").fill("Chargeback cluster")
    await page.get_by_label("Queue").select_option(str(queue))
    await page.get_by_role("button", name="Open case").click()
    await page.get_by_label("Assign to").select_option(label="Ari Agent")
    await page.get_by_role("button", name="Assign", exact=True).click()
    await expect(page.get_by_test_id("case-assignee")).to_have_text("Ari Agent")

    await expect(inbox.get_by_test_id("unread")).to_have_text("1", timeout=5000)
    await expect(inbox.get_by_test_id("cases")).to_contain_text("Chargeback cluster")
    await inbox.get_by_role("link", name="Notifications").click()
    await expect(inbox.locator("main")).to_contain_text("was assigned to you")
