"""Webhooks from outside: one module per provider family, each verifying the raw body, storing the event in
the inbox (crm.core.inbox), queueing its processing and answering at once (door.py does the common part)."""

from litestar import Router

from crm.webhooks import leads
from crm.webhooks.door import webhook_errors


def webhook_router() -> Router:
    return Router(
        path="/webhooks",
        route_handlers=[*leads.handlers],
        include_in_schema=False,
        exception_handlers=webhook_errors(),
        opt={"raw_body": True},  # the door reads and judges the body itself (crm.core.boundary)
    )
