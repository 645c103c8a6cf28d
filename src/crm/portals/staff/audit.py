"""The audit screen (filters, keyset pages) and its CSV export, which is itself audited."""

import csv
import io
import json

from litestar import Request, Response, get
from litestar.response import Stream

from crm.core.audit.queries import AuditFilter, search_audit
from crm.core.audit.service import record_audit
from crm.core.db import transaction
from crm.core.errors import ValidationFailed
from crm.core.guards import current_actor, requires
from crm.core.permissions import Permission
from crm.core.web import render
from crm.portals.staff.navigation import STAFF_NAV

EXPORT_LIMIT = 100_000


@get("/audit", name="staff.audit.list", guards=[requires(Permission.AUDIT_RECORD_VIEW)])
async def audit_list(request: Request) -> Response:
    actor = current_actor(request)
    f = AuditFilter.from_params(dict(request.query_params))
    try:
        rows, next_seq = await search_audit(actor, f)
        errors = {}
    except ValidationFailed as exc:
        rows, next_seq, errors = [], None, exc.field_errors
    return render(request, "staff/audit/list.html", {
        "rows": rows, "next_seq": next_seq, "f": f, "errors": errors,
        "can_export": actor.can(Permission.AUDIT_RECORD_EXPORT),
    }, fragment="results", status=422 if errors else 200)


@get("/audit/export.csv", name="staff.audit.export", guards=[requires(Permission.AUDIT_RECORD_EXPORT)])
async def audit_export(request: Request) -> Response:
    actor = current_actor(request)
    f = AuditFilter.from_params(dict(request.query_params))
    rows, _ = await search_audit(actor, f, limit=EXPORT_LIMIT)
    async with transaction():
        await record_audit(actor, "audit:record:export", target_type="audit_export",
                           after={"filters": f.query_string(), "rows": len(rows)})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    columns = ["seq", "occurred_at", "actor_id", "actor_label", "on_behalf_of_label", "action", "target_type",
               "target_id", "target_label", "entity_id", "client_id", "before", "after", "reason", "case_id", "ip",
               "user_agent", "request_id", "session_id"]
    writer.writerow(columns)
    for row in rows:
        writer.writerow([json.dumps(row[c], sort_keys=True) if c in ("before", "after") and row[c] is not None
                         else row[c] for c in columns])
    return Stream(iter([buffer.getvalue()]), media_type="text/csv", headers={
        "Content-Disposition": 'attachment; filename="audit-export.csv"'})


handlers = [audit_list, audit_export]

STAFF_NAV.add("Oversight", "Audit trail", "/audit", Permission.AUDIT_RECORD_VIEW, order=10)
