from crm.core.audit.tables import AuditChainHead, AuditRecord
from crm.core.piccolo_apps import area_app_config

APP_CONFIG = area_app_config("audit", [AuditRecord, AuditChainHead])
