"""Sortable lists: the URL picks a whitelisted column (never SQL), every sort pages by keyset without
skipping or repeating a row, a cursor that does not parse starts the list again, filters survive every link;
a case list hands ticked cases over (all or none) and exports as CSV; saved views are one's own."""

import csv
import datetime as dt
import io
import random
from urllib.parse import parse_qs, urlparse

from crm.core.audit.tables import AuditRecord
from crm.core.cases.queries import CaseFilter, list_page
from crm.core.cases.service import open_case
from crm.core.cases.tables import WorkCase
from crm.core.context import Actor
from crm.core.db import current_connection, transaction
from crm.core.listing import Column, Listing
from crm.identity.tables import SavedView
from crm.leads import queries, service
from tests.factories import actor_for, make_user
from tests.http import StaffClient, text_of
from tests.leads.factories import raw_lead

LISTING = Listing(
    columns={"age": Column("x.id", "id", int, descending=True), "name": Column("x.name", "name", str)},
    default="-age",
    id_sql="x.id",
)


def test_the_url_picks_a_whitelisted_column_and_links_keep_the_filter():
    sort = LISTING.sort({"sort": "name; DROP TABLE lead", "status": "open"}, "/things")
    assert (sort.key, sort.descending) == ("age", True)  # unknown: the default
    sort = LISTING.sort({"sort": "name", "status": "open", "after": "x~1"}, "/things")
    assert LISTING.order_sql(sort) == "x.name ASC, x.id ASC"
    assert sort.url_for("name") == "/things?status=open&sort=-name"  # the other way, the filter kept
    assert sort.url_for("age") == "/things?status=open&sort=-age"  # a new column in its natural direction
    assert sort.page_url("Ruiz~42") == "/things?status=open&sort=name&after=Ruiz~42"
    assert LISTING.after_sql(sort, "Ruiz~Lopez~42", 3) == ("(x.name, x.id) > ($3, $4)", ["Ruiz~Lopez", 42])
    for broken in ("", "nothing", "a~b", "a~99999999999", "x" * 300):
        assert LISTING.after_sql(sort, broken, 1) is None, broken  # the first page again, never a 500
    newest = LISTING.sort({}, "/things")
    assert LISTING.after_sql(newest, "17~17", 1) == ("x.id < $1", [17])


async def test_every_sort_of_the_desk_list_pages_through_each_lead_once(app):
    lead = await make_user(roles={"EU": ["sales_team_lead"]})
    rng = random.Random(7)
    intake = Actor.system("test")
    for n in range(230):
        await service.intake(
            intake,
            raw_lead(
                n, last_name=rng.choice(["Ruiz", "Lee", "Abe", "Zhou"]), country=rng.choice(["GB", "MX"])
            ),
            channel="api",
            fallback_entity_id=lead["entities"]["EU"],
        )
    async with transaction():
        await current_connection().execute("UPDATE lead SET score = (id * 37) % 11")
    actor = await actor_for(lead)
    for sort in ("-received", "score", "-score", "name", "-name", "country"):
        seen, after = [], ""
        while True:
            f = queries.LeadFilter(view="all", status="any", sort=sort, after=after)
            rows, after = await queries.list_leads(actor, f)
            seen += rows
            if after is None:
                break
        key = {"received": "id", "score": "score", "name": "sort_name", "country": "country"}[
            sort.lstrip("-")
        ]
        expected = sorted(seen, key=lambda r: (r[key], r["id"]), reverse=sort.startswith("-"))
        assert [r["id"] for r in seen] == [r["id"] for r in expected], sort
        assert len({r["id"] for r in seen}) == 230, sort
    async with StaffClient(app) as http:
        await http.sign_in_as(lead)
        page = await http.get("/leads/all?status=any&sort=-score")
        assert 'aria-sort="descending"' in page.text
        next_url = page.text.split('data-testid="next-page"')[0].rsplit('href="', 1)[1].split('"')[0]
        params = parse_qs(urlparse(next_url.replace("&amp;", "&")).query)
        assert params["sort"] == ["-score"] and params["status"] == ["any"] and params["after"]
        assert (await http.get(next_url.replace("&amp;", "&"))).status_code == 200
        assert (await http.get("/leads/all?sort=-score&after=garbage~x")).status_code == 200


async def cases_world():
    lead = await make_user(roles={"EU": ["compliance_officer"]}, full_name="Lea Lead")
    other = await make_user(roles={"EU": ["compliance_officer"]}, full_name="Otto Other")
    viewer = await make_user(roles={"EU": ["support_agent"]})
    actor = await actor_for(lead)
    now = dt.datetime.now(dt.UTC)
    refs = []
    async with transaction():
        for n in range(130):
            case = await open_case(
                actor,
                "alert",
                entity_id=lead["entities"]["EU"],
                title=f"=cmd|{n}" if n == 0 else f"Alert {n}",
            )
            refs.append(case["reference"])
    async with transaction():
        await current_connection().execute(
            "UPDATE work_case SET priority = 1 + id % 4, sla_due_at = CASE WHEN id % 5 = 0 THEN NULL "
            "ELSE $1::timestamptz + (id % 17) * interval '1 minute' END",
            now,
        )
    return lead, other, viewer, actor, refs


async def test_case_lists_sort_page_hand_over_and_export(app):
    lead, other, viewer, actor, refs = await cases_world()
    for sort in ("priority", "-priority", "due", "-due", "opened", "-opened"):
        seen, after = [], ""
        while True:
            rows, after = await list_page(actor, CaseFilter(sort=sort, after=after), limit=40)
            seen += rows
            if after is None:
                break
        key = {"priority": "priority", "due": "sort_due", "opened": "id"}[sort.lstrip("-")]
        expected = sorted(seen, key=lambda r: (r[key], r["id"]), reverse=sort.startswith("-"))
        assert [r["id"] for r in seen] == [r["id"] for r in expected] and len(seen) == 130, sort
    async with StaffClient(app) as http:
        await http.sign_in_as(lead)
        page = await http.get("/cases/all?sort=due")
        assert 'aria-sort="ascending"' in page.text and 'form="bulk-assign"' in page.text
        no_reason = await http.post("/cases/bulk-assign", {"cases": refs[:2], "assignee": str(other["id"])})
        assert no_reason.status_code == 422 and "Say why they change hands" in text_of(no_reason)
        mixed = await http.post(
            "/cases/bulk-assign",
            {"cases": [refs[0], "CASE-999999"], "assignee": str(other["id"]), "reason": "x"},
        )
        assert mixed.status_code == 404  # one out of reach: none assigned
        assert await WorkCase.count().where(WorkCase.assignee_id == other["id"]) == 0
        done = await http.post(
            "/cases/bulk-assign",
            {
                "cases": refs[:3],
                "assignee": str(other["id"]),
                "reason": "Lea is on leave",
                "next": "/cases/all",
            },
        )
        assert done.status_code == 303
        assert await WorkCase.count().where(WorkCase.assignee_id == other["id"]) == 3
        exported = await http.get("/cases/all/export.csv?sort=opened&status=")
        rows = list(csv.reader(io.StringIO(exported.text)))
        assert rows[0][0] == "Case" and len(rows) == 131
        assert "'=cmd|0" in [r[1] for r in rows]  # never a formula
        await http.sign_in_as(viewer)  # sees cases, works none
        assert (await http.post("/cases/bulk-assign", {"cases": refs[3:4], "reason": "x"})).status_code == 403
        assert 'form="bulk-assign"' not in (await http.get("/cases/all")).text
    audited = await AuditRecord.select().where(AuditRecord.action == "cases:case:assign")
    assert sorted(r["target_id"] for r in audited) == sorted(refs[:3])
    assert all(r["reason"] == "Lea is on leave" for r in audited)
    assert await AuditRecord.count().where(AuditRecord.action == "cases:list:export") == 1


async def test_saved_views_are_ones_own(app):
    lead, other, _viewer, _actor, _refs = await cases_world()
    async with StaffClient(app) as http:
        await http.sign_in_as(lead)
        saved = await http.post(
            "/account/views",
            {"list": "cases.all", "view_name": "Urgent", "query": "priority=1&sort=due&after=9~9"},
        )
        assert (
            saved.status_code == 303
            and saved.headers["location"] == "/cases/all?priority=1&sort=due&after=9~9"
        )
        page = await http.get("/cases/all?priority=1&sort=due")
        assert 'aria-current="true">Urgent</a>' in page.text  # the view in use is marked
        again = await http.post(
            "/account/views", {"list": "cases.all", "view_name": "urgent", "query": "priority=2"}
        )
        assert again.status_code == 303  # the same name (any case) replaces the view
        assert [(v["name"], v["query"]) for v in await SavedView.select()] == [("urgent", "priority=2")]
        nameless = await http.post("/account/views", {"list": "cases.all", "view_name": " ", "query": ""})
        assert nameless.status_code == 303 and "Give the view a name" in text_of(await http.get("/cases/all"))
        assert (await http.post("/account/views", {"list": "nope", "view_name": "x"})).status_code == 404
        view_id = (await SavedView.select().first())["id"]
        await http.sign_in_as(other)
        assert "urgent" not in text_of(await http.get("/cases/all"))
        assert (await http.post(f"/account/views/{view_id}/delete")).status_code == 404
        await http.sign_in_as(lead)
        assert (await http.post(f"/account/views/{view_id}/delete")).status_code == 303
    assert await SavedView.count() == 0
