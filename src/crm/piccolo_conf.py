"""Piccolo configuration: the engine reads CRM_DATABASE_URL when this module is first imported."""

import os

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine

DB = PostgresEngine(config={"dsn": os.environ.get("CRM_DATABASE_URL", "postgresql://postgres@127.0.0.1/crm")})

APP_REGISTRY = AppRegistry(
    apps=[
        "crm.core.audit.piccolo_app",
        "crm.core.approvals.piccolo_app",
        "crm.core.events.piccolo_app",
        "crm.core.cases.piccolo_app",
        "crm.core.notifications.piccolo_app",
        "crm.core.files.piccolo_app",
        "crm.core.inbox.piccolo_app",
        "crm.core.rules.piccolo_app",
        "crm.core.org.piccolo_app",
        "crm.identity.piccolo_app",
        "crm.clients.piccolo_app",
        "crm.leads.piccolo_app",
        "crm.kyc.piccolo_app",
    ]
)
