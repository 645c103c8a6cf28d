"""The leads area's audit action tags (`area:subject:action`)."""

from enum import StrEnum


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
