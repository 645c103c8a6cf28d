"""Every area's plug-ins, registered by the entry points: `load_areas()` imports the modules that register
approval action kinds, case kinds, event subscribers, jobs and notification templates, installs the vendor
adapters the core sends through, imports the modules named in CRM_PLUGINS (comma-separated, so a deployment
can add subscribers or kinds of its own without changing this package), and marks the registry loaded
(crm.core.registry).

app.py, worker.py and cli.py call it; the core never imports this module."""

from __future__ import annotations

import importlib
import os

from crm.core import registry

AREA_MODULES = (
    "crm.core.org.assignments",
    "crm.core.org.roles",
    "crm.core.approvals.policy_changes",
    "crm.core.cases.kinds",
    "crm.core.cases.live",
    "crm.core.inbox.service",
    "crm.core.jobs",
    "crm.core.notifications.service",
    "crm.clients.notices",
    "crm.identity.portal",
    "crm.kyc.requirements",
    "crm.kyc.screening.decisions",
    "crm.kyc.screening.rescreen",
    "crm.onboarding.profile",
    "crm.leads.entity_rules",
    "crm.leads.imports",
    "crm.leads.inbound",
    "crm.leads.live",
    "crm.leads.mail",
    "crm.leads.replay",
    "crm.leads.rulesets",
    "crm.leads.service",
)


def load_areas() -> list[str]:
    """Register everything (idempotent); returns the CRM_PLUGINS modules loaded."""
    from crm.core.mail import use_mail_transport
    from crm.integrations.mail.smtp import SmtpTransport

    for name in AREA_MODULES:
        importlib.import_module(name)
    use_mail_transport(SmtpTransport())
    plugins = [n.strip() for n in os.environ.get("CRM_PLUGINS", "").split(",") if n.strip()]
    for name in plugins:
        importlib.import_module(name)
    registry.mark_loaded()
    return plugins
