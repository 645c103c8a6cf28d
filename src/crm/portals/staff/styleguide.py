"""The living style guide: every component of the shared UI layer (templates/components/ui.html) with an
example, the colour tokens, and the words registered for each code, for whoever builds the next screen."""

from litestar import Request, Response, get

from crm.core.guards import requires
from crm.core.labels import LABELS
from crm.core.permissions import Permission
from crm.core.web import render
from crm.portals.staff.navigation import STAFF_NAV

GUARD = [requires(Permission.SYSTEM_TEMPLATES_MANAGE)]
TOKENS = [
    ("--c-ink", "Text"),
    ("--c-muted", "Secondary text"),
    ("--c-accent", "Links, primary actions"),
    ("--c-ok", "Done, active"),
    ("--c-warn", "Needs attention"),
    ("--c-danger", "Failed, refused"),
    ("--c-info", "New, informational"),
    ("--c-line", "Borders"),
    ("--c-bg", "Page"),
    ("--c-bar", "Top bar"),
]


@get("/admin/styleguide", name="staff.styleguide", guards=GUARD)
async def styleguide(request: Request) -> Response:
    kinds = {kind: LABELS.codes(kind) for kind in LABELS.kinds()}
    return render(request, "staff/admin/styleguide.html", {"tokens": TOKENS, "kinds": kinds})


handlers = [styleguide]
STAFF_NAV.add("Admin", "Style guide", "/admin/styleguide", Permission.SYSTEM_TEMPLATES_MANAGE, order=90)
