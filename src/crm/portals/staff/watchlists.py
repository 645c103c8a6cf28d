"""Sanctions and PEP lists for compliance: each list's versions, what changed between two of them, and a name
screened by hand with every hit explained."""

from __future__ import annotations

import datetime as dt

from litestar import Request, Response, get
from litestar.params import FromPath

from crm.core.errors import NotFound
from crm.core.guards import requires
from crm.core.inputs import parse_date, parse_int
from crm.core.permissions import Permission
from crm.core.web import render
from crm.kyc.screening import service
from crm.portals.staff.navigation import STAFF_NAV

GUARD = [requires(Permission.KYC_REVIEW_VIEW)]
SHOWN = 300  # entries listed per kind of change on the comparison screen


@get("/kyc/watchlists", name="staff.watchlists.list", guards=GUARD)
async def watchlist_list(request: Request) -> Response:
    params = request.query_params
    name = str(params.get("name", "")).strip()[:200]
    dob = parse_date(params.get("dob")) if params.get("dob") else None
    country = str(params.get("country", "")).strip().upper()[:2]
    hits = [h.explain() for h in await service.check(name, dob=dob, country=country)] if name else None
    return render(
        request,
        "staff/kyc/watchlists.html",
        {
            "lists": await service.watchlists(),
            "hits": hits,
            "q": {"name": name, "dob": dob, "country": country},
        },
    )


@get("/kyc/watchlists/{code:str}", name="staff.watchlists.versions", guards=GUARD)
async def watchlist_versions(request: Request, code: FromPath[str]) -> Response:
    versions = await service.versions(code[:40])
    if not versions:
        raise NotFound("Watchlist")
    params = request.query_params
    newer = parse_int(params.get("to")) or versions[0]["id"]
    older = parse_int(params.get("from")) or (versions[1]["id"] if len(versions) > 1 else None)
    comparison = None
    if older is not None and older != newer:
        older, newer = sorted((older, newer))
        moved = await service.diff(older, newer)
        keys = [k for kind in ("added", "changed", "removed") for k in moved[kind][:SHOWN]]
        rows = await service.entries_named([older, newer], keys, code)
        comparison = {
            "from": older,
            "to": newer,
            "counts": {k: len(v) for k, v in moved.items()},
            "added": [rows.get((newer, k)) for k in moved["added"][:SHOWN]],
            "removed": [rows.get((older, k)) for k in moved["removed"][:SHOWN]],
            "changed": [(rows.get((older, k)), rows.get((newer, k))) for k in moved["changed"][:SHOWN]],
        }
    return render(
        request,
        "staff/kyc/watchlist_versions.html",
        {
            "code": code,
            "versions": versions,
            "comparison": comparison,
            "shown": SHOWN,
            "today": dt.date.today(),
        },
    )


handlers = [watchlist_list, watchlist_versions]

STAFF_NAV.add("Compliance", "Sanctions & PEP lists", "/kyc/watchlists", Permission.KYC_REVIEW_VIEW, order=10)
