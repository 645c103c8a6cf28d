from crm.core.approvals.tables import ApprovalDecision, ApprovalPolicy, ApprovalRequest
from crm.core.piccolo_apps import area_app_config

APP_CONFIG = area_app_config("approvals", [ApprovalRequest, ApprovalDecision, ApprovalPolicy])
