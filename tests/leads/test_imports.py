"""CSV import as a job in a real arq worker: a validation report per row, the valid rows imported together,
then routed; a crash before the commit leaves nothing, and a rerun does not import twice."""

import pytest

from crm.core.events.tables import AutomationRun
from crm.leads import imports
from crm.leads.tables import Lead, LeadImport
from tests.conftest import run_jobs
from tests.factories import make_user
from tests.http import StaffClient, text_of
from tests.leads.factories import make_pool, make_team, publish_rules

CSV = (
    "First Name,Last Name,E-mail,Phone,Country,Language,utm_source,Favourite colour\n"
    "Ana,Ruiz,ana@example.es,+34 612 345 678,ES,es,google,blue\n"
    "Bad,Phone,bad@example.com,12,GB,en,google,red\n"
    "No,Country,nocountry@example.com,,,en,,green\n"
    "\n"
    "Tom,Lee,tom@example.co.uk,07911 123456,United Kingdom,English,facebook,\n"
    "Ana,Ruiz,ana@example.es,,ES,es,google,\n"
)


async def desk():
    tl = await make_user(roles={"EU": ["sales_team_lead"]})
    agent = await make_user(roles={"EU": ["sales_agent"]})
    entity = tl["entities"]["EU"]
    pool = await make_pool(entity, "All", [(agent["id"], 1, 500)], team_id=await make_team(entity))
    await publish_rules("routing", entity, {"rules": [], "fallback_pool_id": pool})
    await publish_rules(
        "scoring",
        entity,
        {"rules": [{"name": "Paid", "field": "source", "op": "eq", "value": "google", "points": 30}]},
    )
    return tl, agent, entity


async def test_csv_import_reports_rows_imports_the_valid_ones_then_routes(app, settings):
    tl, agent, entity = await desk()
    async with StaffClient(app) as http:
        await http.sign_in_as(tl)
        wrong = await http.post(
            "/leads/imports", data={"entity": entity}, files={"file": ("leads.txt", b"a,b\n", "text/plain")}
        )
        assert wrong.status_code == 422
        started = await http.post(
            "/leads/imports",
            data={"entity": entity, "route": "on"},
            files={"file": ("leads.csv", CSV.encode(), "text/csv")},
        )
        assert started.status_code == 303
        url = started.headers["location"]
        assert "queued" in text_of(await http.get(url))
        await run_jobs(settings)
        page = text_of(await http.get(url))
    assert "Status: done · 5 rows · 3 valid · 2 invalid · 3 imported · 3 routed" in page
    assert "favourite_colour Unknown column" in page and "3 phone This is not a valid phone number" in page
    assert "4 country The country is required" in page
    leads = await Lead.select().order_by(Lead.id)
    assert [
        (lead["first_name"], lead["phone"], lead["country"], lead["language"], lead["score"])
        for lead in leads
    ] == [
        ("Ana", "+34612345678", "ES", "es", 30),
        ("Tom", "+447911123456", "GB", "en", 0),
        ("Ana", "", "ES", "es", 30),
    ]
    assert all(lead["owner_id"] == agent["id"] and lead["reference"].startswith("LD-") for lead in leads)
    from crm.core.db import fetch

    assert (await fetch("SELECT count(*) AS n FROM lead_duplicate"))[0]["n"] == 1  # the second Ana, by e-mail


async def test_a_crash_before_commit_imports_nothing_and_a_rerun_imports_once(app, settings, monkeypatch):
    tl, agent, entity = await desk()
    import dataclasses

    from crm.core.jobs import _JOBS
    from tests.factories import actor_for

    monkeypatch.setitem(
        _JOBS, "leads.import_csv", dataclasses.replace(_JOBS["leads.import_csv"], retry_delay_s=0.01)
    )
    import_id = await imports.start(await actor_for(tl), entity, "leads.csv", CSV.encode(), route=False)
    original, seen = imports.record_audit, []

    async def crash_once(*args, **kwargs):
        if not seen:
            seen.append(
                await Lead.count()
            )  # the rows are written, inside the transaction that will roll back
            raise RuntimeError("worker lost mid-import")
        return await original(*args, **kwargs)

    monkeypatch.setattr(imports, "record_audit", crash_once)
    await run_jobs(settings)  # attempt 1 fails inside the import transaction; attempt 2 imports
    assert seen == [3]
    row = await LeadImport.select().where(LeadImport.id == import_id).first()
    assert row["status"] == "done" and row["imported"] == 3 and await Lead.count() == 3
    assert all(lead["owner_id"] is None for lead in await Lead.select())  # not routed: waiting unassigned
    from crm.core.context import Actor
    from crm.core.jobs import JobRun

    await imports.import_csv(
        JobRun("leads.import_csv", "again", 1, entity, None, Actor.system("t"), settings.redis_url),
        import_id=import_id,
    )
    runs = [
        r["outcome"]
        for r in await AutomationRun.select().where(AutomationRun.automation == "leads.import_csv")
    ]
    assert runs == ["failed", "ok"]
    assert await Lead.count() == 3


@pytest.mark.parametrize(
    "content,message", [(b"", "empty"), (b"\xff\xfe\x00", "UTF-8"), (b"email,phone\nx@y.z,1\n", "header")]
)
def test_file_level_problems(content, message):
    rows, problems = imports.parse(content)
    assert rows == [] and message in problems[0]["message"]


async def test_imports_and_intake_apply_the_same_entity_rules():
    from crm.core.context import Actor
    from crm.core.db import fetch
    from crm.leads import service
    from crm.leads.context import entities_by_rules
    from tests.leads.factories import raw_lead

    user = await make_user(roles={"EU": [], "UK": [], "INTL": []})
    eu, uk, intl = (user["entities"][c] for c in ("EU", "UK", "INTL"))
    await fetch(
        "INSERT INTO lead_entity_rule (position, brand, countries, entity_id) VALUES "
        "(10, 'Acme', '[]', $1), (20, '', '[\"GB\", \"IE\"]', $2)",
        intl,
        uk,
    )
    pairs = [("acme", "GB"), ("", "GB"), ("Other", "IE"), ("", "FR")]
    assert await entities_by_rules(pairs, eu) == {
        ("acme", "GB"): intl,
        ("", "GB"): uk,
        ("Other", "IE"): uk,
        ("", "FR"): eu,
    }  # brand first by position, any case; else default
    for n, (brand, country) in enumerate(pairs):
        phone = {"GB": "+447911123400", "IE": "+353851234500", "FR": "+33612345600"}[country][:-1] + str(n)
        lead = (
            await service.intake(
                Actor.system("t"),
                raw_lead(n, brand=brand, country=country, phone=phone),
                channel="api",
                fallback_entity_id=eu,
                route=False,
            )
        ).lead
        assert lead["entity_id"] == (await entities_by_rules([(brand, country)], eu))[(brand, country)]


async def test_hostile_rows_are_reported_and_a_dead_import_says_it_failed(app, settings, monkeypatch):
    """A 300 kB cell and a NUL byte are rows with a reason (the rest imports); an import whose job dies
    shows failed with the error, never a progress bar stuck at "importing"."""
    tl, _, entity = await desk()
    hostile = (
        "first_name,last_name,email,country\n"
        f"Long,{'x' * 300_000},long@example.com,GB\n"
        "Nul,Byte\x00,nul@example.com,GB\n"
        "Good,Row,good@example.com,GB\n"
    )
    async with StaffClient(app) as http:
        await http.sign_in_as(tl)
        started = await http.post(
            "/leads/imports",
            data={"entity": entity},
            files={"file": ("hostile.csv", hostile.encode(), "text/csv")},
        )
        await run_jobs(settings)
        page = text_of(await http.get(started.headers["location"]))
    assert "Status: done · 3 rows · 1 valid · 2 invalid · 1 imported" in page, page
    assert "2 row A value is longer than 1,000 characters" in page
    assert "3 row A value contains a NUL character" in page
    assert await Lead.count() == 1

    async def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    import dataclasses

    from crm.core import jobs

    monkeypatch.setattr(imports, "_validate_and_import", crash)
    quick = dataclasses.replace(jobs.job_spec("leads.import_csv"), retry_delay_s=0.01)
    monkeypatch.setitem(jobs._JOBS, "leads.import_csv", quick)
    async with StaffClient(app) as http:
        await http.sign_in_as(tl)
        started = await http.post(
            "/leads/imports",
            data={"entity": entity},
            files={"file": ("doomed.csv", b"first_name,country\nAna,GB\n", "text/csv")},
        )
        await run_jobs(settings)
        page = text_of(await http.get(started.headers["location"]))
    assert "Status: failed" in page and "The import stopped on an error" in page and "disk full" in page
