"""Audit action tags of the core's parts, as `area:subject:action` (one StrEnum per area; areas keep theirs in
their own `tags.py`). `record_audit` takes one of these; a test walks every call and checks the form."""

from enum import StrEnum

from crm.core.labels import LABELS


class AccessTag(StrEnum):
    ASSIGNMENT_EXPIRE = "access:assignment:expire"
    ASSIGNMENT_GRANT = "access:assignment:grant"
    ASSIGNMENT_REQUEST = "access:assignment:request"
    ASSIGNMENT_REVOKE = "access:assignment:revoke"
    ENTITY_CREATE = "access:entity:create"
    ROLE_CHANGE = "access:role:change"
    TEAM_CREATE = "access:team:create"
    USER_CREATE = "access:user:create"
    USER_DEACTIVATE = "access:user:deactivate"


class ApprovalsTag(StrEnum):
    POLICY_CHANGE = "approvals:policy:change"
    REQUEST_AMEND = "approvals:request:amend"
    REQUEST_APPROVE = "approvals:request:approve"
    REQUEST_CREATE = "approvals:request:create"
    REQUEST_REJECT = "approvals:request:reject"


class AuditTag(StrEnum):
    RECORD_EXPORT = "audit:record:export"


class CasesTag(StrEnum):
    ATTACHMENT_DOWNLOAD = "cases:attachment:download"
    CASE_ASSIGN = "cases:case:assign"
    CASE_ATTACH = "cases:case:attach"
    CASE_ESCALATE = "cases:case:escalate"
    CASE_NOTE = "cases:case:note"
    CASE_OPEN = "cases:case:open"
    CASE_RESOLVE = "cases:case:resolve"
    CASE_STATUS = "cases:case:status"
    CASE_TAKE = "cases:case:take"
    LIST_EXPORT = "cases:list:export"


class RulesTag(StrEnum):
    VERSION_DRAFT = "rules:version:draft"
    VERSION_PUBLISH = "rules:version:publish"


class SystemTag(StrEnum):
    DELIVERY_DISCARD = "system:delivery:discard"
    DELIVERY_RETRY = "system:delivery:retry"
    JOB_DISCARD = "system:job:discard"
    JOB_RETRY = "system:job:retry"
    TEMPLATE_EDIT = "system:template:edit"
    WEBHOOK_RERUN = "system:webhook:rerun"
    WEBHOOK_REVEAL = "system:webhook:reveal"


LABELS.add(
    "audit_action",
    {
        AccessTag.ASSIGNMENT_EXPIRE: "Role assignment expired",
        AccessTag.ASSIGNMENT_GRANT: "Role granted",
        AccessTag.ASSIGNMENT_REQUEST: "Role grant requested",
        AccessTag.ASSIGNMENT_REVOKE: "Role revoked",
        AccessTag.ENTITY_CREATE: "Legal entity created",
        AccessTag.ROLE_CHANGE: "Role permissions changed",
        AccessTag.TEAM_CREATE: "Team created",
        AccessTag.USER_CREATE: "Staff user created",
        AccessTag.USER_DEACTIVATE: "Staff user deactivated",
        ApprovalsTag.POLICY_CHANGE: "Approval policy changed",
        ApprovalsTag.REQUEST_AMEND: "Approval request amended",
        ApprovalsTag.REQUEST_APPROVE: "Request approved",
        ApprovalsTag.REQUEST_CREATE: "Approval requested",
        ApprovalsTag.REQUEST_REJECT: "Request rejected",
        AuditTag.RECORD_EXPORT: "Audit trail exported",
        RulesTag.VERSION_DRAFT: "Rules drafted",
        RulesTag.VERSION_PUBLISH: "Rules published",
        CasesTag.ATTACHMENT_DOWNLOAD: "Case attachment downloaded",
        CasesTag.CASE_ASSIGN: "Case assigned",
        CasesTag.LIST_EXPORT: "Case list exported",
        CasesTag.CASE_ATTACH: "File attached to case",
        CasesTag.CASE_ESCALATE: "Case escalated",
        CasesTag.CASE_NOTE: "Case note added",
        CasesTag.CASE_OPEN: "Case opened",
        CasesTag.CASE_RESOLVE: "Case resolved",
        CasesTag.CASE_STATUS: "Case status changed",
        CasesTag.CASE_TAKE: "Case taken",
        SystemTag.DELIVERY_DISCARD: "Failed delivery discarded",
        SystemTag.DELIVERY_RETRY: "Failed delivery retried",
        SystemTag.JOB_DISCARD: "Failed job discarded",
        SystemTag.JOB_RETRY: "Failed job retried",
        SystemTag.TEMPLATE_EDIT: "Notification template edited",
        SystemTag.WEBHOOK_RERUN: "Webhook event re-run",
        SystemTag.WEBHOOK_REVEAL: "Webhook body revealed",
    },
)
