"""Every code a person can meet has its words in the label registry: a new status, audit tag, permission or
automation arrives with them (the browser sweep fails on any raw code that reaches a page)."""

from crm.clients.tables import ClientStatus
from crm.clients.tags import ClientsTag
from crm.core.approvals.tables import ApprovalStatus
from crm.core.audit.tags import AccessTag, ApprovalsTag, AuditTag, CasesTag, SystemTag
from crm.core.cases.tables import RESOLUTIONS, CaseStatus
from crm.core.events.service import _SUBSCRIBERS
from crm.core.events.tables import DeliveryStatus
from crm.core.inbox.tables import InboxStatus
from crm.core.jobs import _JOBS
from crm.core.labels import LABELS
from crm.core.org.tables import AssignmentStatus, TeamKind
from crm.core.permissions import Permission
from crm.identity.tags import IdentityTag
from crm.leads.rules import REGIONS
from crm.leads.tables import LeadStatus
from crm.leads.tags import LeadsTag


def test_every_code_has_its_words():
    expected = {
        "audit_action": [
            *AccessTag,
            *ApprovalsTag,
            *AuditTag,
            *CasesTag,
            *SystemTag,
            *IdentityTag,
            *LeadsTag,
            *ClientsTag,
        ],
        "lead_status": list(LeadStatus),
        "client_status": list(ClientStatus),
        "case_status": list(CaseStatus),
        "case_resolution": list(RESOLUTIONS),
        "approval_status": list(ApprovalStatus),
        "assignment_status": list(AssignmentStatus),
        "delivery_status": list(DeliveryStatus),
        "inbox_status": list(InboxStatus),
        "team_kind": list(TeamKind),
        "permission": list(Permission),
        "region": list(REGIONS),
        "automation": [name for name in [*_JOBS, *_SUBSCRIBERS] if not name.startswith(("bench.", "test"))],
    }
    missing = {kind: LABELS.missing(kind, codes) for kind, codes in expected.items()}
    assert not any(missing.values()), {k: v for k, v in missing.items() if v}
    assert set(LABELS.kinds()) <= set(LABELS.codes("label_kind")), "every kind of words has a heading"
