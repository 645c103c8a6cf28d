"""The audit screen (filters, keyset pages) and its CSV export, which is itself audited."""

from litestar import Request, Response, get
from litestar.response import Stream

from crm.core.audit.diff import field_changes
from crm.core.audit.queries import AuditFilter, export_csv, search_audit
from crm.core.errors import ValidationFailed
from crm.core.guards import current_actor, requires
from crm.core.permissions import Permission
from crm.core.web import render
from crm.portals.staff.navigation import STAFF_NAV, record_url


@get("/audit", name="staff.audit.list", guards=[requires(Permission.AUDIT_RECORD_VIEW)])
async def audit_list(request: Request) -> Response:
    actor = current_actor(request)
    f = AuditFilter.from_params(dict(request.query_params))
    try:
        rows, next_seq = await search_audit(actor, f)
        errors = {}
        for row in rows:
            row["target_url"] = record_url(actor, row["target_type"], row["target_id"], row["entity_id"])
            row["actor_url"] = record_url(actor, "staff_user", row["actor_id"], row["entity_id"])
            row["changes"] = field_changes(row["before"], row["after"], row["target_type"] or "")
    except ValidationFailed as exc:
        rows, next_seq, errors = [], None, exc.field_errors
    return render(
        request,
        "staff/audit/list.html",
        {
            "rows": rows,
            "next_seq": next_seq,
            "f": f,
            "errors": errors,
            "can_export": actor.can(Permission.AUDIT_RECORD_EXPORT),
        },
        fragment="results",
        status=422 if errors else 200,
    )


@get("/audit/export.csv", name="staff.audit.export", guards=[requires(Permission.AUDIT_RECORD_EXPORT)])
async def audit_export(request: Request) -> Response:
    text = await export_csv(current_actor(request), AuditFilter.from_params(dict(request.query_params)))
    return Stream(
        iter([text]),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="audit-export.csv"'},
    )


handlers = [audit_list, audit_export]

STAFF_NAV.add("Oversight", "Audit trail", "/audit", Permission.AUDIT_RECORD_VIEW, order=10)
