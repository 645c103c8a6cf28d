"""The leads area's audit action tags (`area:subject:action`)."""

from enum import StrEnum

from crm.core.labels import LABELS


class LeadsTag(StrEnum):
    AGENT_DAY_OFF = "leads:agent:day_off"
    AGENT_SCHEDULE = "leads:agent:schedule"
    CALL_LOG = "leads:call:log"
    ENTITY_RULES_CHANGE = "leads:entity_rules:change"
    IMPORT_COMMIT = "leads:import:commit"
    IMPORT_START = "leads:import:start"
    LEAD_ASSIGN = "leads:lead:assign"
    LEAD_CREATE = "leads:lead:create"
    LEAD_EMAIL = "leads:lead:email"
    LEAD_MERGE = "leads:lead:merge"
    LEAD_SLA_BREACH = "leads:lead:sla_breach"
    LEAD_STATUS = "leads:lead:status"
    LIST_EXPORT = "leads:list:export"
    PII_REVEAL = "leads:pii:reveal"
    POOL_CREATE = "leads:pool:create"
    POOL_MEMBER = "leads:pool:member"
    POOL_UPDATE = "leads:pool:update"
    RULES_DRAFT = "leads:rules:draft"
    RULES_PUBLISH = "leads:rules:publish"
    SOURCE_CREATE = "leads:source:create"
    SOURCE_DISABLE = "leads:source:disable"
    SOURCE_ENABLE = "leads:source:enable"
    SOURCE_ROTATE = "leads:source:rotate"


LABELS.add(
    "audit_action",
    {
        LeadsTag.AGENT_DAY_OFF: "Agent day off set",
        LeadsTag.AGENT_SCHEDULE: "Agent shifts changed",
        LeadsTag.CALL_LOG: "Call logged",
        LeadsTag.ENTITY_RULES_CHANGE: "Entity rules changed",
        LeadsTag.IMPORT_COMMIT: "Lead import committed",
        LeadsTag.IMPORT_START: "Lead import started",
        LeadsTag.LEAD_ASSIGN: "Lead assigned",
        LeadsTag.LEAD_CREATE: "Lead created",
        LeadsTag.LEAD_EMAIL: "E-mail to lead",
        LeadsTag.LEAD_MERGE: "Leads merged",
        LeadsTag.LEAD_SLA_BREACH: "Lead SLA breached",
        LeadsTag.LEAD_STATUS: "Lead status changed",
        LeadsTag.LIST_EXPORT: "Lead list exported",
        LeadsTag.PII_REVEAL: "Lead contact revealed",
        LeadsTag.POOL_CREATE: "Pool created",
        LeadsTag.POOL_MEMBER: "Pool membership changed",
        LeadsTag.POOL_UPDATE: "Pool changed",
        LeadsTag.RULES_DRAFT: "Rules draft saved",
        LeadsTag.RULES_PUBLISH: "Rules published",
        LeadsTag.SOURCE_CREATE: "Intake source created",
        LeadsTag.SOURCE_DISABLE: "Intake source disabled",
        LeadsTag.SOURCE_ENABLE: "Intake source enabled",
        LeadsTag.SOURCE_ROTATE: "Intake secret rotated",
    },
)
LABELS.add(
    "automation",
    {
        "lead_first_contact": "First-contact tracking",
        "lead_merge": "Lead merge",
        "lead_routing": "Lead routing",
        "refresh_lead_performance": "Agent performance refresh",
        "refresh_desk_figures": "Desk dashboard refresh",
    },
)
