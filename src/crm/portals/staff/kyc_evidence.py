"""A client's KYC evidence timeline for reviewers and auditors: the page, and the same rows as CSV."""

from __future__ import annotations

import json

from litestar import Request, Response, get
from litestar.params import FromPath

from crm.core.exports import csv_text
from crm.core.guards import current_actor, requires
from crm.core.labels import LABELS
from crm.core.permissions import Permission
from crm.core.web import attachment_disposition, render
from crm.kyc import evidence

VIEW = [requires(Permission.KYC_REVIEW_VIEW)]
HEADER = (
    "seq",
    "occurred_at_utc",
    "step",
    "actor",
    "on_behalf_of",
    "ip",
    "case",
    "before",
    "after",
    "reason",
    "row_hash",
)


@get("/kyc/clients/{client_id:int}/evidence", name="staff.kyc.evidence", guards=VIEW)
async def page(request: Request, client_id: FromPath[int]) -> Response:
    return render(
        request,
        "staff/kyc/evidence.html",
        {"client": await evidence.timeline(current_actor(request), client_id)},
    )


@get("/kyc/clients/{client_id:int}/evidence.csv", name="staff.kyc.evidence.csv", guards=VIEW)
async def export(request: Request, client_id: FromPath[int]) -> Response:
    client = await evidence.timeline(current_actor(request), client_id)
    rows = [
        (
            s["seq"],
            s["occurred_at"].isoformat(),
            LABELS.text("audit_action", s["action"]),
            s["actor_label"],
            s["on_behalf_of_label"] or "",
            s["ip"] or "",
            s["case_id"] or "",
            json.dumps(s["before"], ensure_ascii=False, default=str) if s["before"] is not None else "",
            json.dumps(s["after"], ensure_ascii=False, default=str) if s["after"] is not None else "",
            s["reason"] or "",
            s["row_hash"],
        )
        for s in client["steps"]
    ]
    return Response(
        csv_text(HEADER, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": attachment_disposition(f"kyc-evidence-{client['reference']}.csv")},
    )


@get("/kyc/clients/{client_id:int}/evidence.pdf", name="staff.kyc.evidence.pdf", guards=VIEW)
async def export_pdf(request: Request, client_id: FromPath[int]) -> Response:
    client = await evidence.timeline(current_actor(request), client_id)
    return Response(
        evidence.as_pdf(client),
        media_type="application/pdf",
        headers={
            "Content-Disposition": attachment_disposition(f"kyc-evidence-{client['reference']}.pdf"),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


handlers = [page, export, export_pdf]
