"""Lead changes pushed to open lead lists (ids only; each stream re-renders through its own scoped query)."""

from crm.core.events.service import subscribe
from crm.core.live import publish
from crm.settings import Settings

CHANNEL = "crm:live:leads"


@subscribe(
    "live.leads",
    "lead.created",
    "lead.routed",
    "lead.updated",
    "lead.call_logged",
    max_attempts=3,
    label="Live lead lists",
)
async def push_lead_change(event: dict) -> dict:
    payload = event["payload"]
    notice = {
        "reference": event["subject_id"],
        "entity_id": event["entity_id"],
        "event": event["name"],
        "owner_id": payload.get("agent_id", payload.get("owner_id")),
        "previous_owner_id": payload.get("previous_owner_id"),
    }
    await publish(Settings.from_env().redis_url, CHANNEL, notice)
    return {"published": notice["reference"]}
