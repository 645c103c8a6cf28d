"""A subscriber for the kill-the-worker test: it records each event it handles in `test_effect`, slowly."""

import asyncio

from crm.core.db import current_connection
from crm.core.events.service import subscribe


@subscribe("test.effect", "test.tick")
async def record_effect(event: dict) -> dict:
    await current_connection().execute("INSERT INTO test_effect (event_id) VALUES ($1)", event["id"])
    await asyncio.sleep(0.005)
    return {"recorded": event["id"]}
