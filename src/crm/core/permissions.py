"""The permission catalogue: every action a staff role can allow, as `area:resource:action`.

Roles are data (named sets of these values, edited by admins); code only ever asks for a Permission.
Keep the enum alphabetised. Permissions of areas not built yet are listed so roles can be designed up front.
"""

from enum import StrEnum

from crm.core.labels import LABELS


class Permission(StrEnum):
    ACCESS_ASSIGNMENT_APPROVE = "access:assignment:approve"
    ACCESS_ASSIGNMENT_MANAGE = "access:assignment:manage"
    ACCESS_ENTITY_MANAGE = "access:entity:manage"
    ACCESS_ROLE_MANAGE = "access:role:manage"
    ACCESS_USER_MANAGE = "access:user:manage"
    ACCESS_USER_VIEW = "access:user:view"
    AUDIT_RECORD_EXPORT = "audit:record:export"
    AUDIT_RECORD_VIEW = "audit:record:view"
    CASES_CASE_VIEW = "cases:case:view"
    CASES_CASE_WORK = "cases:case:work"
    CLIENTS_CLIENT_EDIT = "clients:client:edit"
    CLIENTS_CLIENT_VIEW = "clients:client:view"
    CLIENTS_NOTICE_MANAGE = "clients:notice:manage"
    CLIENTS_PII_REVEAL = "clients:pii:reveal"
    DEALING_ACCOUNT_VIEW = "dealing:account:view"
    DEALING_INTERVENTION_EXECUTE = "dealing:intervention:execute"
    DEALING_INTERVENTION_REQUEST = "dealing:intervention:request"
    IB_COMMISSION_APPROVE = "ib:commission:approve"
    IB_PARTNER_MANAGE = "ib:partner:manage"
    IB_PARTNER_VIEW = "ib:partner:view"
    KYC_REVIEW_DECIDE = "kyc:review:decide"
    KYC_REVIEW_VIEW = "kyc:review:view"
    KYC_RULES_MANAGE = "kyc:rules:manage"
    LEADS_LEAD_VIEW = "leads:lead:view"
    LEADS_LEAD_WORK = "leads:lead:work"
    LEADS_ROUTING_MANAGE = "leads:routing:manage"
    LEADS_TEAM_VIEW = "leads:team:view"
    PAYMENTS_TRANSACTION_VIEW = "payments:transaction:view"
    PAYMENTS_WITHDRAWAL_APPROVE = "payments:withdrawal:approve"
    RISK_FLAG_REVIEW = "risk:flag:review"
    RISK_SIGNAL_MANAGE = "risk:signal:manage"
    SYSTEM_AUTOMATION_VIEW = "system:automation:view"
    SYSTEM_JOBS_MANAGE = "system:jobs:manage"
    SYSTEM_TEMPLATES_MANAGE = "system:templates:manage"


DESCRIPTIONS: dict[Permission, str] = {
    Permission.ACCESS_ASSIGNMENT_APPROVE: "Approve another admin's role change, or a role grant that is "
    "privileged, to oneself or someone's first access to client data",
    Permission.ACCESS_ASSIGNMENT_MANAGE: "Grant, change and revoke role assignments",
    Permission.ACCESS_ENTITY_MANAGE: "Create and edit legal entities and teams",
    Permission.ACCESS_ROLE_MANAGE: "Create roles and edit their permission sets",
    Permission.ACCESS_USER_MANAGE: "Create and deactivate staff users, reset passwords and MFA",
    Permission.ACCESS_USER_VIEW: "See staff users and their permission history",
    Permission.AUDIT_RECORD_EXPORT: "Export the audit trail as CSV",
    Permission.AUDIT_RECORD_VIEW: "Search the audit trail",
    Permission.CASES_CASE_VIEW: "See cases and queues",
    Permission.CASES_CASE_WORK: "Take, work and resolve cases",
    Permission.CLIENTS_CLIENT_EDIT: "Edit client profiles",
    Permission.CLIENTS_CLIENT_VIEW: "See client profiles (personal data masked)",
    Permission.CLIENTS_NOTICE_MANAGE: "Draft privacy notices and approve another's draft for publishing",
    Permission.CLIENTS_PII_REVEAL: "Reveal a client's masked personal data, with a reason",
    Permission.DEALING_ACCOUNT_VIEW: "See trading accounts and their status",
    Permission.DEALING_INTERVENTION_EXECUTE: "Carry out an approved platform intervention",
    Permission.DEALING_INTERVENTION_REQUEST: "Request a platform intervention (balance, credit, group ...)",
    Permission.IB_COMMISSION_APPROVE: "Approve commission plans and payouts",
    Permission.IB_PARTNER_MANAGE: "Manage introducing brokers and affiliates",
    Permission.IB_PARTNER_VIEW: "See introducing brokers and affiliates",
    Permission.KYC_REVIEW_DECIDE: "Approve or reject KYC reviews",
    Permission.KYC_REVIEW_VIEW: "See KYC reviews and evidence",
    Permission.KYC_RULES_MANAGE: "Draft KYC requirements and approve another's draft for publishing",
    Permission.LEADS_LEAD_VIEW: "See leads (one's own; with “See the whole desk”, every lead of the entity)",
    Permission.LEADS_LEAD_WORK: "Work assigned leads",
    Permission.LEADS_ROUTING_MANAGE: "Edit routing rules, pools, shifts and intake sources; import leads",
    Permission.LEADS_TEAM_VIEW: "See every lead of the entity, the unassigned queue and the team-lead "
    "dashboards",
    Permission.PAYMENTS_TRANSACTION_VIEW: "See deposits and withdrawals",
    Permission.PAYMENTS_WITHDRAWAL_APPROVE: "Approve withdrawals",
    Permission.RISK_FLAG_REVIEW: "Review risk flags",
    Permission.RISK_SIGNAL_MANAGE: "Edit risk signals and thresholds",
    Permission.SYSTEM_AUTOMATION_VIEW: "Search the log of automation runs (jobs, event subscribers)",
    Permission.SYSTEM_JOBS_MANAGE: "Retry or discard failed background work (dead letters)",
    Permission.SYSTEM_TEMPLATES_MANAGE: "Edit notification templates (group-wide: needs the permission in "
    "every entity)",
}


# Permissions that open client or prospect data (contact details, identity, money, trading). A grant that
# gives the first of them to someone, or any grant to oneself, goes through a second admin
# (crm.core.org.assignments): the system admin holds none of them by default.
CLIENT_DATA: frozenset[Permission] = frozenset(
    {
        Permission.CLIENTS_CLIENT_EDIT,
        Permission.CLIENTS_CLIENT_VIEW,
        Permission.CLIENTS_PII_REVEAL,
        Permission.DEALING_ACCOUNT_VIEW,
        Permission.IB_PARTNER_VIEW,
        Permission.KYC_REVIEW_DECIDE,
        Permission.KYC_REVIEW_VIEW,
        Permission.LEADS_LEAD_VIEW,
        Permission.LEADS_LEAD_WORK,
        Permission.LEADS_TEAM_VIEW,
        Permission.PAYMENTS_TRANSACTION_VIEW,
    }
)


def area_of(permission: str) -> str:
    return permission.split(":", 1)[0]


def parse_permissions(values: list[str]) -> list[Permission]:
    """Keep known permissions only, in catalogue order (unknown strings from old data are dropped)."""
    known = {p.value for p in Permission}
    return [Permission(v) for v in sorted(set(values)) if v in known]


NAMES: dict[Permission, str] = {
    Permission.ACCESS_ASSIGNMENT_APPROVE: "Approve role grants",
    Permission.ACCESS_ASSIGNMENT_MANAGE: "Grant and revoke roles",
    Permission.ACCESS_ENTITY_MANAGE: "Manage entities and teams",
    Permission.ACCESS_ROLE_MANAGE: "Edit roles",
    Permission.ACCESS_USER_MANAGE: "Manage staff users",
    Permission.ACCESS_USER_VIEW: "See staff users",
    Permission.AUDIT_RECORD_EXPORT: "Export the audit trail",
    Permission.AUDIT_RECORD_VIEW: "Search the audit trail",
    Permission.CASES_CASE_VIEW: "See cases",
    Permission.CASES_CASE_WORK: "Work cases",
    Permission.CLIENTS_CLIENT_EDIT: "Edit clients",
    Permission.CLIENTS_CLIENT_VIEW: "See clients",
    Permission.CLIENTS_NOTICE_MANAGE: "Draft privacy notices and approve another's draft for publishing",
    Permission.CLIENTS_PII_REVEAL: "Reveal client personal data",
    Permission.DEALING_ACCOUNT_VIEW: "See trading accounts",
    Permission.DEALING_INTERVENTION_EXECUTE: "Carry out interventions",
    Permission.DEALING_INTERVENTION_REQUEST: "Request interventions",
    Permission.IB_COMMISSION_APPROVE: "Approve commissions",
    Permission.IB_PARTNER_MANAGE: "Manage partners",
    Permission.IB_PARTNER_VIEW: "See partners",
    Permission.KYC_REVIEW_DECIDE: "Decide KYC reviews",
    Permission.KYC_REVIEW_VIEW: "See KYC reviews",
    Permission.KYC_RULES_MANAGE: "Edit KYC requirements",
    Permission.LEADS_LEAD_VIEW: "See leads",
    Permission.LEADS_LEAD_WORK: "Work leads",
    Permission.LEADS_ROUTING_MANAGE: "Manage routing",
    Permission.LEADS_TEAM_VIEW: "See the whole desk",
    Permission.PAYMENTS_TRANSACTION_VIEW: "See transactions",
    Permission.PAYMENTS_WITHDRAWAL_APPROVE: "Approve withdrawals",
    Permission.RISK_FLAG_REVIEW: "Review risk flags",
    Permission.RISK_SIGNAL_MANAGE: "Edit risk signals",
    Permission.SYSTEM_AUTOMATION_VIEW: "See the automation log",
    Permission.SYSTEM_JOBS_MANAGE: "Manage failed jobs",
    Permission.SYSTEM_TEMPLATES_MANAGE: "Edit notification templates",
}
AREAS: dict[str, str] = {
    "access": "Access",
    "audit": "Audit",
    "cases": "Cases",
    "clients": "Clients",
    "dealing": "Dealing",
    "ib": "Partners (IB)",
    "kyc": "KYC",
    "leads": "Leads",
    "payments": "Payments",
    "risk": "Risk",
    "system": "System",
}

LABELS.add("permission", NAMES)
LABELS.add("permission_area", AREAS)


def permission_groups() -> list[tuple[str, list[Permission]]]:
    """The catalogue grouped by area, in the enum's (alphabetical) order, for matrices and checklists."""
    groups: dict[str, list[Permission]] = {}
    for permission in Permission:
        groups.setdefault(AREAS[area_of(permission)], []).append(permission)
    return list(groups.items())
