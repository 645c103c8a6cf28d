"""Times show in the viewer's time zone: their own setting, else their home entity's; the change is audited
and a zone that does not exist is refused with a reason."""

import datetime as dt

from crm.core.audit.service import record_audit
from crm.core.audit.tables import AuditRecord
from crm.core.context import Actor
from crm.core.db import transaction
from crm.core.org.tables import LegalEntity
from crm.core.web import relative_time
from tests.factories import make_user
from tests.http import StaffClient, text_of


async def test_times_follow_the_viewer_zone_and_the_setting_is_audited(app):
    user = await make_user(roles={"EU": ["auditor"]}, full_name="Zoe Zone")
    await LegalEntity.update({LegalEntity.time_zone: "Asia/Nicosia"}).where(LegalEntity.code == "EU")
    async with transaction():
        await record_audit(
            Actor(user_id=user["id"], label="Zoe"),
            "clients:pii:reveal",
            target_type="client",
            entity_id=user["entities"]["EU"],
        )
    async with StaffClient(app) as http:
        await http.sign_in_as(user)
        page = await http.get("/account/preferences")
        assert "Asia/Nicosia" in text_of(page) and "home entity's time zone" in text_of(page)
        audit = await http.get("/audit")
        assert " EET" in text_of(audit) or " EEST" in text_of(audit)  # the row, in Nicosia time
        refused = await http.post("/account/preferences", {"time_zone": "Mars/Olympus"})
        assert refused.status_code == 422 and "Choose a time zone from the list" in refused.text
        saved = await http.post("/account/preferences", {"time_zone": "America/Mexico_City"})
        assert saved.status_code == 303
        assert "America/Mexico_City" in text_of(await http.get("/account/preferences"))
        assert " CST" in text_of(await http.get("/audit"))
    row = await AuditRecord.select().where(AuditRecord.action == "identity:preferences:change").first()
    assert row["actor_id"] == user["id"] and "America/Mexico_City" in str(row["after"])


def test_a_relative_time_carries_the_exact_time_in_the_zone():
    from zoneinfo import ZoneInfo

    now = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)
    html = relative_time(now - dt.timedelta(hours=2), now, ZoneInfo("Europe/London"))
    assert "2 h ago" in html and "2026-07-01 11:00:00 BST" in html
