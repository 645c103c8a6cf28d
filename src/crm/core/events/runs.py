"""The automation log's one writer: every run of a job, event subscriber or cron, with its trigger, input,
output and outcome (read on /admin/automation)."""

from __future__ import annotations

import datetime as dt
import json

from crm.core.audit.chain import normalise
from crm.core.db import current_connection, transaction

_LOG_RUN = """
INSERT INTO automation_run (automation, trigger, entity_id, subject_type, subject_id, case_id, input, output,
                            outcome, error, attempt, started_at, duration_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11, $12, $13)
"""


async def log_run(
    automation: str,
    trigger: str,
    *,
    entity_id: int | None = None,
    subject_type: str = "",
    subject_id: str = "",
    input: dict | None = None,
    output: dict | None = None,
    outcome: str = "ok",
    error: str = "",
    attempt: int = 1,
    started: dt.datetime,
    duration_ms: int,
) -> None:
    """Write one automation-run row in the current transaction (or its own)."""
    async with transaction():
        await current_connection().execute(
            _LOG_RUN,
            automation,
            trigger,
            entity_id,
            subject_type or "",
            str(subject_id or ""),
            (output or {}).get("case_id"),
            json.dumps(normalise(input or {})),
            json.dumps(normalise(output or {})),
            outcome,
            error[:4000],
            attempt,
            started,
            duration_ms,
        )
