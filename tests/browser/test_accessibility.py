"""Every page, for every role, in real Chromium: no serious or critical axe-core violation, nothing overflows
at 1366×768, and the staff portal still fits at 1024 px; the public pages fit a 390 px phone."""

import pytest

from crm.core.org.tables import StaffUser
from crm.demo import load_demo
from tests.browser.sweep import Sweep, check_page, sweep_site

# One demo user per seeded role (the demo has someone in each).
ROLE_USERS = {
    "super_admin": "admin",
    "system_admin": "sysadmin",
    "compliance_officer": "compliance",
    "payments_officer": "payments",
    "support_agent": "support",
    "sales_agent": "sales",
    "sales_team_lead": "intllead",
    "dealer": "dealer",
    "risk_manager": "risk",
    "auditor": "auditor",
    "ib_manager": "ibmanager",
}


async def demo_user(prefix: str) -> dict:
    row = await StaffUser.select(StaffUser.id).where(StaffUser.email == f"{prefix}@demo.example").first()
    return {"id": row["id"]}


@pytest.mark.parametrize("role", sorted(ROLE_USERS))
async def test_every_page_a_role_reaches_passes_axe_and_fits_the_window(new_page, role):
    await load_demo()
    page = await new_page(await demo_user(ROLE_USERS[role]))
    await page.set_viewport_size({"width": 1366, "height": 768})
    sweep = await sweep_site(page, widths=(1024,))
    assert len(sweep.pages) >= 3, sweep.pages
    assert not sweep.findings, "\n".join(map(str, sweep.findings))


async def test_the_public_pages_pass_axe_and_fit_a_phone(new_page):
    """What a prospect or a signed-out member of staff meets, on a 390 px phone and on a laptop."""
    await load_demo()
    page = await new_page()
    await page.set_viewport_size({"width": 390, "height": 844})
    sweep = Sweep()
    for path in ("/register", "/register?brand=borealis", "/privacy/EU/v1", "/login", "/no-such-page"):
        response = await page.goto(path)
        await page.wait_for_load_state("networkidle")
        sweep.pages.append(f"{path} ({response.status})")
        await check_page(page, path, sweep, widths=(1366,))
    await page.goto("/register")
    await page.get_by_role("button", name="Request a call").click()  # the form's errors, shown inline
    await check_page(page, "/register (errors)", sweep)
    assert not sweep.findings, "\n".join(map(str, sweep.findings))


async def test_the_client_portal_passes_axe_and_fits_a_phone_in_every_language(new_page):
    """The client portal's pages signed out and signed in, in English, Spanish and Arabic (right to left)."""
    await load_demo()
    page = await new_page()
    await page.set_viewport_size({"width": 390, "height": 844})
    sweep = Sweep()
    for lang in ("en", "es", "ar"):
        for path in ("/portal/register", "/portal/login", "/portal/reset", "/portal/verify/expired-link"):
            response = await page.goto(f"{path}?lang={lang}")
            sweep.pages.append(f"{path} {lang} ({response.status})")
            await check_page(page, f"{path}?lang={lang}", sweep, widths=(1366,))
    await page.goto("/portal/register?lang=en")
    await page.get_by_role("button", name="Open my account").click()  # every field's error, inline
    await check_page(page, "/portal/register (errors)", sweep)
    await page.goto("/portal/login")
    await page.get_by_label("E-mail address").fill("client@demo.example")
    await page.get_by_label("Password").fill("demo-password-2026")
    await page.get_by_role("button", name="Sign in").click()
    for lang in ("en", "ar"):
        for path in ("/portal", "/portal/documents", "/portal/profile"):
            await page.goto(f"{path}?lang={lang}")
            await check_page(page, f"{path}?lang={lang}", sweep, widths=(1366,))
    assert not sweep.findings, "\n".join(map(str, sweep.findings))
