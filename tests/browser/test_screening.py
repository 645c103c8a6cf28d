"""A client whose name is on a sanctions list lands in the compliance queue; one officer judges the strong hit
a false match, and it stays open until a second officer approves the clearing."""

from playwright.async_api import expect

from crm.core.context import Actor
from crm.kyc.screening import clients, service
from tests.browser.test_live_queues import make_team
from tests.factories import make_client, make_user

LIST = (
    b'"id","schema","name","aliases","birth_date","countries","sanctions"\n'
    b'"S-1","Person","Viktor Bout","Viktor Anatolyevich Bout","1967-01-13","ru","TEST"\n'
)


async def test_a_listed_client_is_decided_in_the_compliance_queue_by_two_people(new_page):
    first = await make_user(roles={"INTL": ["compliance_officer"]}, full_name="Fay First")
    second = await make_user(roles={"INTL": ["compliance_officer"]}, full_name="Sid Second")
    queue = await make_team(first["entities"]["INTL"], "Compliance INTL")
    await service.import_list(
        Actor.system("test"), "test_sanctions", LIST, "v1", kind="sanctions", fmt="simple"
    )
    client = await make_client("INTL", first_name="Viktor", last_name="Bout")
    await clients.screen_client(Actor.system("test"), client["id"])

    page = await new_page(first)
    await page.goto(f"/cases/queues/{queue}")
    row = page.get_by_test_id("cases").locator("tr", has_text="Screening hit: " + client["reference"])
    await expect(row).to_contain_text("Screening hit")
    await row.get_by_role("link").first.click()
    await page.get_by_role("link", name="Viktor Bout").click()
    match = page.get_by_test_id("match")
    await expect(match).to_contain_text("strong hit")
    await expect(match).to_contain_text("“viktor” ≈ “viktor”")
    await match.get_by_label("False match: not this person").check()
    await match.get_by_label("Reason (what you compared)").fill("Born 1979, Belarusian passport checked")
    await match.get_by_role("button", name="Record decision").click()
    await expect(page.get_by_role("status")).to_contain_text("waits for a second approver")
    await expect(match).to_contain_text("False match, waiting for a second approver")
    for width, height in ((1366, 768), (390, 844)):
        await page.set_viewport_size({"width": width, "height": height})
        await page.screenshot(path=f"/tmp/shot-screening-{width}.png", full_page=True)
    await match.get_by_test_id("clearing-request").click()
    await expect(page.get_by_test_id("approval-conflict")).to_contain_text("You made this request")

    other = await new_page(second)
    await other.goto("/approvals")
    await other.get_by_role("link", name=client["reference"], exact=False).first.click()
    await expect(other.get_by_text("Born 1979, Belarusian passport checked")).to_be_visible()
    await other.get_by_role("button", name="Approve").click()
    await expect(other.get_by_role("status")).to_contain_text("Approved and carried out")
    await other.goto(f"/kyc/screening/{client['id']}")
    await expect(other.get_by_test_id("match")).to_contain_text("False match")
    await expect(other.get_by_test_id("screening-state")).to_contain_text("Clear")
