"""The top bar's search: leads and clients by reference, exact e-mail or phone, or name, scoped like their
lists; contact data is matched, never shown."""

from crm.core.context import Actor
from crm.leads import service
from tests.factories import make_client, make_user
from tests.http import StaffClient, text_of
from tests.leads.factories import make_pool, make_team, publish_rules, raw_lead

INTAKE = Actor.system("test_intake")


async def desk():
    tl = await make_user(roles={"EU": ["sales_team_lead"]})
    agent = await make_user(roles={"EU": ["sales_agent"]})
    other_agent = await make_user(roles={"EU": ["sales_agent"]})
    intl = await make_user(roles={"INTL": ["super_admin"]})
    entity = tl["entities"]["EU"]
    pool = await make_pool(entity, "Solo", [(agent["id"], 1, 50)], team_id=await make_team(entity))
    await publish_rules("routing", entity, {"rules": [], "fallback_pool_id": pool})
    return tl, agent, other_agent, intl


async def test_search_finds_by_each_kind_within_scope_and_never_shows_contact_data(app):
    tl, agent, other_agent, intl = await desk()
    lead = (
        await service.intake(
            INTAKE,
            raw_lead(
                1, first_name="Lucía", last_name="Gómez", email="Lucia.G@Example.es", phone="+34612345678"
            ),
            channel="api",
        )
    ).lead
    client = await make_client("EU", first_name="Marta", last_name="Gómez", email="marta@example.es")
    searches = ["Gómez", "lucía", "lucía gó", lead["reference"], "lucia.g@example.es", "+34 612 34 56 78"]
    async with StaffClient(app) as http:
        for who in (agent, tl):  # the owner, and the team lead of the entity
            await http.sign_in_as(who)
            for q in searches:
                page = await http.get("/search", params={"q": q})
                assert page.status_code == 200, q
                assert f'href="/leads/{lead["reference"]}"' in page.text, (who["email"], q)
                assert "lucia.g@example.es" not in page.text.lower() or q == "lucia.g@example.es"
                assert "612345678" not in page.text.replace("612 34 56 78", "")
        await http.sign_in_as(await make_user(roles={"EU": ["super_admin"]}))
        page = await http.get("/search", params={"q": "gómez"})
        assert client["reference"] in page.text and lead["reference"] in page.text
        email_hit = await http.get("/search", params={"q": "marta@example.es"})
        assert client["reference"] in email_hit.text and "contact details stay masked" in text_of(email_hit)
        for outsider in (other_agent, intl):  # a colleague's lead; another entity
            await http.sign_in_as(outsider)
            for q in searches:
                page = await http.get("/search", params={"q": q})
                assert f'href="/leads/{lead["reference"]}"' not in page.text, (outsider["email"], q)
                if outsider is intl:  # clients of EU are for EU staff (agents of EU see them, masked)
                    assert f'href="/clients/{client["id"]}"' not in page.text, q
        page = await http.get("/search", params={"q": "%"})
        assert page.status_code == 200


async def test_the_top_bar_search_answers_as_a_fragment_for_htmx(app):
    tl, *_ = await desk()
    await service.intake(INTAKE, raw_lead(2, last_name="Okafor"), channel="api")
    async with StaffClient(app) as http:
        await http.sign_in_as(tl)
        home = await http.get("/")
        assert 'role="search"' in home.text
        fragment = await http.get("/search", params={"q": "okafor"}, headers={"HX-Request": "true"})
        assert "<html" not in fragment.text and "Okafor" in fragment.text
