"""Importing this module registers every area's plug-ins: approval action kinds, case kinds, event subscribers.

`load_plugins()` also imports the modules named in CRM_PLUGINS (comma-separated), so a deployment can add
subscribers or kinds of its own without changing this package.
"""

import importlib
import os

import crm.access.assignments  # noqa: F401
import crm.access.roles  # noqa: F401
import crm.core.approvals.policy_changes  # noqa: F401
import crm.core.cases.kinds  # noqa: F401
import crm.core.cases.live  # noqa: F401
import crm.core.jobs  # noqa: F401
import crm.core.notifications.service  # noqa: F401
import crm.leads.imports  # noqa: F401
import crm.leads.live  # noqa: F401
import crm.leads.mail  # noqa: F401
import crm.leads.replay  # noqa: F401
import crm.leads.rulesets  # noqa: F401
import crm.leads.service  # noqa: F401


def load_plugins() -> list[str]:
    names = [n.strip() for n in os.environ.get("CRM_PLUGINS", "").split(",") if n.strip()]
    for name in names:
        importlib.import_module(name)
    return names
