"""A client's KYC documents for reviewers: the list on the client's screening page, and each file shown in the
browser with safe headers (only checked JPEG, PNG and PDF are ever stored; the page may not run anything)."""

from __future__ import annotations

from litestar import Request, Response, get
from litestar.params import FromPath

from crm.core.guards import current_actor, requires
from crm.core.permissions import Permission
from crm.core.web import attachment_disposition
from crm.kyc.documents import service

VIEW = [requires(Permission.KYC_REVIEW_VIEW)]
CSP = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"  # shown, never run


@get("/kyc/documents/{document_id:int}", name="staff.kyc.document", guards=VIEW)
async def document(request: Request, document_id: FromPath[int]) -> Response:
    stored = await service.document_file(current_actor(request), document_id)
    disposition = attachment_disposition(stored["filename"]).replace("attachment", "inline", 1)
    return Response(
        stored["content"],
        media_type=stored["content_type"],
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": CSP,
            "Cache-Control": "no-store",
        },
    )


handlers = [document]
