"""What a reviewer reads: a client's screening (where they stand, what was screened, every match with its
explanation and decision), scoped to the reviewer's entities."""

from __future__ import annotations

import json

from crm.core.context import Actor
from crm.core.db import fetch
from crm.core.errors import NotFound
from crm.core.permissions import Permission
from crm.core.scope import in_scope


async def screening_of(actor: Actor, client_id: int) -> dict:
    """The client's screening state and matches (newest first); NotFound outside the actor's scope."""
    rows = await fetch(
        "SELECT c.id, c.reference, c.first_name, c.last_name, c.country, c.date_of_birth, c.entity, "
        "e.code AS entity_code, s.status, s.screened_name, s.screened_dob, s.screened_country, "
        "s.screened_at, s.open_matches, s.case_reference FROM client c "
        "JOIN legal_entity e ON e.id = c.entity "
        "LEFT JOIN client_screening s ON s.client = c.id WHERE c.id = $1",
        client_id,
    )
    client = in_scope(actor, Permission.KYC_REVIEW_VIEW, rows[0] if rows else None, "Client", entity="entity")
    matches = await fetch(
        "SELECT m.*, u.full_name AS decided_by_name, r.status AS approval_status FROM screening_match m "
        "LEFT JOIN staff_user u ON u.id = m.decided_by "
        "LEFT JOIN approval_request r ON r.id = m.approval_request_id "
        "WHERE m.client = $1 ORDER BY (m.status IN ('open', 'clearing')) DESC, m.score DESC, m.id DESC",
        client_id,
    )
    client["matches"] = [dict(m) | {"explanation": json.loads(m["explanation"])} for m in matches]
    client["can_decide"] = actor.can(Permission.KYC_REVIEW_DECIDE, client["entity"])
    return client


async def match_client(match_id: int) -> int:
    rows = await fetch("SELECT client FROM screening_match WHERE id = $1", match_id)
    if not rows:
        raise NotFound("Screening match")
    return rows[0]["client"]
