"""The leads area's service functions, gathered for callers: intake, routing and assignment, working a lead,
duplicates. Each lives in its own module:

- context.py: references, a lead's routing context and scoring facts, who may see a lead, its timeline
- intake.py: every channel's entry point, one transaction per lead
- assignment.py: routing and its consequences (follow-up case, notifications, SLA breach), manual
  assignment, preview
- work.py: pipeline, notes, calls, signals, presence, reveal
- mail.py: e-mail to and from a lead (sent by a job, replies by webhook)
- duplicates.py: duplicate candidates and merges (duplicate_evidence.py: the lookups and the score)
"""

from crm.leads.assignment import assign_manually, assign_many, route_lead
from crm.leads.breach import handle_sla_breach
from crm.leads.context import (
    LeadContext,
    facts_for,
    intake_context,
    lead_context,
    may_see,
    reference_for,
    score_for,
)
from crm.leads.duplicate_evidence import duplicate_score
from crm.leads.duplicates import MERGE_FILL, dismiss_duplicate, find_duplicates, merge
from crm.leads.intake import IntakeResult, intake, intake_by_hand
from crm.leads.preview import preview
from crm.leads.work import (
    CALL_OUTCOMES,
    add_note,
    log_call,
    presence_of,
    record_call,
    record_signals,
    reveal_contact,
    set_presence,
    set_status,
)

__all__ = [
    "CALL_OUTCOMES",
    "MERGE_FILL",
    "IntakeResult",
    "LeadContext",
    "add_note",
    "assign_manually",
    "assign_many",
    "dismiss_duplicate",
    "duplicate_score",
    "facts_for",
    "intake_context",
    "find_duplicates",
    "handle_sla_breach",
    "intake",
    "intake_by_hand",
    "lead_context",
    "log_call",
    "may_see",
    "merge",
    "presence_of",
    "preview",
    "record_call",
    "record_signals",
    "reference_for",
    "reveal_contact",
    "route_lead",
    "score_for",
    "set_presence",
    "set_status",
]
