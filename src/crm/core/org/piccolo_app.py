from crm.core.org.tables import LegalEntity, Role, RoleAssignment, StaffUser, Team
from crm.core.piccolo_apps import area_app_config

APP_CONFIG = area_app_config("access", [LegalEntity, StaffUser, Team, Role, RoleAssignment])
