"""The same hostile values fed to every route of the route table (staff and public), in the path, the query
and the form, as a permitted user: the answer is always a page or a refusal with a reason, never a 500, and
a refused form saves nothing."""

import re
from pathlib import Path
from urllib.parse import quote, urlencode

from crm.core.db import fetch
from tests.http import StaffClient, text_of
from tests.portals.routes import PUBLIC, browser_routes, fill

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"

NUL_TEXT = ["\x00", "lead\x00@example.com"]
TOO_LONG = "x" * 2_500  # the boundary allows 2,000 characters in a query value
NUMBERS = ["99999999999", "-99999999999", "2147483648", "²", "٣", "1e400"]
DATES = ["9999-12-31", "0001-01-01", "9999-12-31T23:59:59-14:00"]
# Every query name a screen reads, besides those a handler declares.
QUERY_NAMES = (
    "q status country action automation outcome source kind priority before_seq before_id pool_id owner_id "
    "entity_id entity client_id actor_id target_type target_id case_id subject_id queue_id assignee_id "
    "date_from date_to days view next overdue provider endpoint"
).split()


def form_names() -> list[str]:
    """Every field name a template's forms send."""
    names = set()
    for path in TEMPLATES.rglob("*.html"):
        names |= set(re.findall(r'name="([a-z_][a-z_0-9]*)"', path.read_text()))
    return sorted(names - {"_csrf_token"})


def declared_queries(handler) -> list[str]:
    params = handler.parsed_fn_signature.parameters
    return [n for n in params if n not in ("request", "data") and not n.startswith("_")]


def with_query(url: str, names: list[str], value: str) -> str:
    return f"{url}?{urlencode({name: value for name in names})}"


def hostile_paths(path: str, ids: dict) -> list[tuple[str, set[int]]]:
    """The path with each kind of parameter made hostile, and the statuses that answer it correctly."""
    variants = []
    if ":int}" in path:
        for number in ("99999999999", "2147483648"):
            variants.append((fill(re.sub(r"\{\w+:int\}", number, path), ids), {404}))
    if ":str}" in path:
        for text in ("%00", quote(TOO_LONG)):
            hostile = {k: (text if f"{{{k}:str}}" in path else v) for k, v in ids.items()}
            if path.startswith("/leads/"):
                hostile["lead_reference"] = text
            variants.append((fill(path, hostile), {400, 404}))
    return variants


async def test_every_route_refuses_hostile_values_with_a_reason(app, world):
    fields = form_names()
    refused = 0
    async with StaffClient(app) as client:
        await client.sign_in_as(world["checker"])
        for method, path, handler in browser_routes(app):
            url = fill(path, world["ids"])
            names = sorted(set(QUERY_NAMES) | set(declared_queries(handler)))
            stream = handler.opt.get("stream")
            for bad_url, allowed in hostile_paths(path, world["ids"]):
                response = await (client.get(bad_url) if method == "GET" else client.post(bad_url, {}))
                assert response.status_code in allowed, (method, bad_url[:120], response.status_code)
            texts = [*NUL_TEXT, TOO_LONG]
            values = texts if stream else [*texts, *NUMBERS, *DATES]  # an endless stream: refused values only
            for value in values:
                bad_url = with_query(url, names if value != TOO_LONG else names[:5], value)
                response = await client.get(bad_url) if method == "GET" else await client.post(bad_url, {})
                assert response.status_code < 500, (method, path, repr(value[:20]), response.status_code)
                if value in texts:
                    assert response.status_code == 400, (method, path, repr(value[:20]), response.status_code)
                    assert "contains a NUL character" in response.text or "longer than" in response.text
                    refused += 1
            if method != "POST":
                continue
            for value in [*NUL_TEXT, *NUMBERS, *DATES]:
                response = await client.post(url, {name: value for name in fields})
                assert response.status_code < 500, (method, path, repr(value), response.status_code)
                if "\x00" in value:
                    assert response.status_code == 400, (method, path, response.status_code)
            if path in PUBLIC:
                await client.sign_in_as(world["checker"])  # /logout and friends end the session
    assert refused == 3 * len(browser_routes(app))  # every route refused every unstorable text
    assert not await fetch("SELECT id FROM lead WHERE email LIKE 'lead%'"), "a refused form saved a lead"


async def test_a_refusal_says_what_was_wrong(app, world):
    async with StaffClient(app) as client:
        await client.sign_in_as(world["checker"])
        page = await client.get("/leads/all?q=%00")
        assert page.status_code == 400
        assert "The value of 'q' contains a NUL character" in text_of(page)
        assert (
            await client.get("/cases/all?priority=99999999999")
        ).status_code == 200  # no such priority: ignored
        assert (await client.get("/clients/99999999999")).status_code == 404
        assert (await client.get("/leads/live?status=%00")).status_code == 400
        audit = await client.get("/audit?date_to=9999-12-31")
        assert audit.status_code == 422 and "between 1900 and 9998" in text_of(audit)
        cases = await client.get("/cases/all?priority=%C2%B2")
        assert cases.status_code == 200
