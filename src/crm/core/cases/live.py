"""Case changes pushed to live queues: a subscriber publishes a notice for every case event."""

from crm.core.events.service import subscribe
from crm.core.live import publish
from crm.settings import Settings

CHANNEL = "crm:live:cases"


@subscribe(
    "live.cases",
    "case.created",
    "case.assigned",
    "case.updated",
    "case.resolved",
    "case.escalated",
    max_attempts=3,
    label="Live case queues",
)
async def push_case_change(event: dict) -> dict:
    """Tell every open queue that a case changed (ids only; each stream decides what its user may see)."""
    payload = event["payload"]
    notice = {
        "reference": payload.get("reference"),
        "entity_id": event["entity_id"],
        "queue_id": payload.get("queue_id"),
        "assignee_id": payload.get("assignee_id"),
        "event": event["name"],
        "occurred_at": event["occurred_at"].isoformat(),
    }
    await publish(Settings.from_env().redis_url, CHANNEL, notice)
    return {"published": notice["reference"], "case_id": notice["reference"]}
