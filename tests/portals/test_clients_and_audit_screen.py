"""Masked client data with reveal-with-reason, and the audit screen: filters, pages, fragments, export."""

import csv
import io

from crm.clients.tables import PiiReveal
from crm.core.audit.service import record_audit
from crm.core.audit.tables import AuditRecord
from crm.core.context import Actor
from crm.core.db import transaction
from tests.factories import make_client, make_user
from tests.http import StaffClient, text_of


async def test_personal_data_is_masked_until_revealed_with_a_reason(app):
    agent = await make_user(roles={"EU": ["sales_agent"]})
    client = await make_client("EU", email="maria.silva@example.com", phone="+35799123456")
    async with StaffClient(app) as http:
        await http.sign_in_as(agent)
        page = await http.get(f"/clients/{client['id']}")
        assert "maria.silva@example.com" not in page.text and "+35799123456" not in page.text
        assert "m•••@•••.com" in page.text
        listing = await http.get("/clients")
        assert "maria.silva@example.com" not in listing.text
        no_reason = await http.post(
            f"/clients/{client['id']}/reveal",
            {"field": "email", "reason": "x"},
            headers={"HX-Request": "true"},
        )
        assert no_reason.status_code == 422 and "Say why" in no_reason.text
        assert "<html" not in no_reason.text  # an htmx request gets only the field's fragment
        revealed = await http.post(
            f"/clients/{client['id']}/reveal",
            {"field": "email", "reason": "client called about a deposit"},
            headers={"HX-Request": "true"},
        )
        assert revealed.status_code == 200 and "maria.silva@example.com" in revealed.text
        assert "<html" not in revealed.text and revealed.headers["vary"] == "HX-Request"
        again = await http.get(f"/clients/{client['id']}")  # stays visible for the window
        assert "maria.silva@example.com" in again.text and "+35799123456" not in again.text
    row = await AuditRecord.select().where(AuditRecord.action == "clients:pii:reveal").first()
    assert row["client_id"] == client["id"] and row["reason"] == "client called about a deposit"
    assert row["after"]["field"] == "email" if isinstance(row["after"], dict) else '"email"' in row["after"]
    assert await PiiReveal.count().where(PiiReveal.user == agent["id"]) == 1


async def test_support_agent_sees_masked_data_only(app):
    support = await make_user(roles={"EU": ["support_agent"]})
    client = await make_client("EU")
    async with StaffClient(app) as http:
        await http.sign_in_as(support)
        page = await http.get(f"/clients/{client['id']}")
        assert page.status_code == 200 and '/reveal"' not in page.text
        denied = await http.post(
            f"/clients/{client['id']}/reveal", {"field": "email", "reason": "just curious"}
        )
        assert denied.status_code == 403


async def test_bad_ids_get_clear_4xx_not_500(app):
    agent = await make_user(roles={"EU": ["sales_agent"]})
    async with StaffClient(app) as http:
        await http.sign_in_as(agent)
        assert (await http.get("/clients/999999")).status_code == 404
        assert (await http.get("/clients/not-a-number")).status_code == 404
        assert (
            await http.post("/clients/999999/reveal", {"field": "email", "reason": "because reasons"})
        ).status_code == 404
        bad_field = await http.post(
            f"/clients/{(await make_client('EU'))['id']}/reveal", {"field": "password", "reason": "because"}
        )
        assert bad_field.status_code == 422


async def seed_audit(n: int, entity_id: int, actor_id: int = 1) -> None:
    actor = Actor(user_id=actor_id, label=f"actor {actor_id}")
    async with transaction():
        for i in range(n):
            await record_audit(
                actor,
                "test:row:write" if i % 2 else "clients:pii:reveal",
                target_type="client",
                target_id=i,
                entity_id=entity_id,
                client_id=100 + (i % 3),
                reason=f"row {i}",
            )


async def test_audit_filters_keyset_pages_and_fragments(app):
    auditor = await make_user(roles={"EU": ["auditor"]})
    await seed_audit(120, auditor["entities"]["EU"], actor_id=5)
    async with StaffClient(app) as http:
        await http.sign_in_as(auditor)
        page = await http.get("/audit")
        assert page.status_code == 200 and "Older" in page.text and page.text.count("<tr>") == 51
        fragment = await http.get("/audit?client_id=101", headers={"HX-Request": "true"})
        assert "<html" not in fragment.text and 'id="results"' not in fragment.text
        seqs, url = [], "/audit?client_id=101&actor_id=5"
        while url:
            response = await http.get(url)
            seqs += [int(s) for s in __import__("re").findall(r"<tr>\s*<td>(\d+)</td>", response.text)]
            nxt = __import__("re").search(r'href="(/audit\?[^"]*before_seq=\d+)"', response.text)
            url = nxt.group(1).replace("&amp;", "&") if nxt else None
        assert len(seqs) == 40 and seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 40
        prefix = await http.get("/audit?action=clients:")
        assert "Test row write" not in prefix.text and "Client personal data revealed" in prefix.text
        bad = await http.get("/audit?date_from=yesterday&actor_id=abc")
        assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text and "Enter a whole number" in bad.text
        today = __import__("datetime").date.today().isoformat()
        assert "row 119" in text_of(await http.get(f"/audit?date_from={today}&date_to={today}"))
        assert "No audit records match" in text_of(await http.get("/audit?date_to=2001-01-01"))


async def test_csv_export_is_itself_audited(app):
    auditor = await make_user(roles={"EU": ["auditor"]})
    await seed_audit(10, auditor["entities"]["EU"])
    async with StaffClient(app) as http:
        await http.sign_in_as(auditor)
        response = await http.get("/audit/export.csv?action=clients:pii:reveal")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:3] == ["seq", "occurred_at", "actor_id"] and len(rows) == 6
    export = await AuditRecord.select().where(AuditRecord.action == "audit:record:export").first()
    assert export["actor_id"] == auditor["id"]


async def test_compliance_officer_cannot_export(app):
    officer = await make_user(roles={"EU": ["compliance_officer"]})
    async with StaffClient(app) as http:
        await http.sign_in_as(officer)
        assert (await http.get("/audit")).status_code == 200
        assert (await http.get("/audit/export.csv")).status_code == 403


async def test_entity_switcher_narrows_every_list(app):
    from crm.identity.tables import StaffSession

    agent = await make_user(roles={"EU": ["sales_agent"], "INTL": ["sales_agent"]})
    await make_client("EU", reference="CL-IN-EU")
    await make_client("INTL", reference="CL-IN-INTL")
    async with StaffClient(app) as http:
        await http.sign_in_as(agent)
        both = text_of(await http.get("/clients"))
        assert "CL-IN-EU" in both and "CL-IN-INTL" in both
        switched = await http.post(
            "/account/focus", {"entity_id": agent["entities"]["INTL"], "next": "/clients"}
        )
        assert switched.status_code == 303 and switched.headers["location"] == "/clients"
        only = text_of(await http.get("/clients"))
        assert "CL-IN-INTL" in only and "CL-IN-EU" not in only
        foreign = await http.post(
            "/account/focus", {"entity_id": 999, "next": "/clients"}
        )  # not theirs: all again
        assert foreign.status_code == 303
        assert "CL-IN-EU" in text_of(await http.get("/clients"))
    assert await StaffSession.count().where(StaffSession.focus_entity_id.is_null()) == 1


async def test_csv_export_neutralises_formulas(app):
    """A failed sign-in typed as a formula, from a browser whose User-Agent is one, exports as text."""
    auditor = await make_user(roles={"EU": ["auditor"]})
    async with StaffClient(app) as http:
        await http.post(
            "/login",
            {"email": '=HYPERLINK("http://evil.example","x")', "password": "x"},
            headers={"user-agent": "=1+1"},
        )
        await http.post("/login", {"email": "@SUM(A1)", "password": "x"}, headers={"user-agent": "-2+3"})
        await http.sign_in_as(auditor)
        response = await http.get("/audit/export.csv?action=identity:signin:fail")
    rows = list(csv.reader(io.StringIO(response.text)))
    cells = [cell for row in rows[1:] for cell in row]
    assert len(rows) == 3
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    assert "'=1+1" in cells and "'-2+3" in cells
    assert any(c.lower().startswith("'=hyperlink") for c in cells)
    assert any(c.lower().startswith("'@sum") for c in cells)


async def test_audit_rows_link_actors_and_targets_only_where_they_open(app):
    """Every link the audit screen shows answers 200 for its viewer (no link to a 403 or a 404)."""
    import re as regex

    from crm.clients.service import reveal_client_field
    from crm.settings import Settings
    from tests.factories import actor_for, make_client

    officer = await make_user(roles={"EU": ["compliance_officer"]})
    client = await make_client("EU", email="linked@client.example")
    await reveal_client_field(
        await actor_for(officer), client["id"], "email", "checking a call", Settings.from_env()
    )
    for viewer in (
        await make_user(roles={"EU": ["auditor"]}),
        await make_user(roles={"EU": ["super_admin"]}),
    ):
        async with StaffClient(app) as http:
            await http.sign_in_as(viewer)
            page = await http.get("/audit?action=clients:pii:reveal")
            links = set(regex.findall(r'<a href="(/(?:clients|admin/users|cases|leads)/[^"]+)"', page.text))
            assert f"/clients/{client['id']}" in links and f"/admin/users/{officer['id']}" in links
            for link in links:
                assert (await http.get(link)).status_code == 200, link


async def test_audit_filters_by_name_pickers_with_suggestions(app):
    """Staff, client and case are chosen by name with suggestions as one types; the choice filters the rows
    and shows again as the name; a name that fits nobody, or several, says so."""
    auditor = await make_user(roles={"EU": ["auditor"]})
    officer = await make_user(
        "ines@test.example", roles={"EU": ["compliance_officer"]}, full_name="Inês Officer"
    )
    await make_user("inga@test.example", roles={"EU": ["sales_agent"]}, full_name="Inga Agent")
    client = await make_client("EU", first_name="Maria", last_name="Pickerova")
    await seed_audit(6, auditor["entities"]["EU"], actor_id=officer["id"])
    await seed_audit(4, auditor["entities"]["EU"], actor_id=auditor["id"])
    async with StaffClient(app) as http:
        await http.sign_in_as(auditor)
        options = await http.get("/audit/suggest/actor?actor=inê", headers={"HX-Request": "true"})
        assert options.text == '<option value="Inês Officer &lt;ines@test.example&gt;"></option>'
        assert (
            "Pickerova · " + client["reference"]
            in (await http.get("/audit/suggest/client?client=Picker")).text
        )
        page = await http.get("/audit", params={"actor": "Inês Officer <ines@test.example>"})
        text = text_of(page)
        assert page.status_code == 200 and text.count(f"actor {officer['id']} ") == 6
        assert f"actor {auditor['id']} " not in text
        assert 'value="Inês Officer &lt;ines@test.example&gt;"' in page.text  # the choice, shown again
        by_id = await http.get(f"/audit?actor_id={officer['id']}")
        assert 'value="Inês Officer &lt;ines@test.example&gt;"' in by_id.text  # a link's id reads as the name
        several = await http.get("/audit", params={"actor": "in"})
        assert several.status_code == 422 and "matches several people" in several.text
        nobody = await http.get("/audit", params={"actor": "Zed Nobody"})
        assert nobody.status_code == 422 and "No staff member called “Zed Nobody”" in nobody.text
        by_client = await http.get("/audit", params={"client": f"Maria Pickerova · {client['reference']}"})
        assert by_client.status_code == 200 and "No audit records match" in by_client.text
