from crm.core.piccolo_apps import area_app_config
from crm.leads.tables import (
    AgentDayOff,
    AgentLoad,
    AgentPresence,
    AgentSchedule,
    CallRecord,
    DuplicateCandidate,
    EntityRule,
    IntakeSource,
    Lead,
    LeadActivity,
    LeadEmail,
    LeadImport,
    Pool,
    PoolMember,
    ReferralCode,
    RoutingDecision,
    RoutingReplay,
    RuleSet,
    SlaBreach,
)

APP_CONFIG = area_app_config("leads", [
    IntakeSource, Lead, LeadActivity, LeadEmail, CallRecord, RuleSet, Pool, PoolMember, AgentSchedule, AgentDayOff,
    AgentPresence, AgentLoad, RoutingDecision, SlaBreach, ReferralCode, LeadImport, DuplicateCandidate, EntityRule, RoutingReplay,
], ["crm.core.cases.piccolo_app"])
