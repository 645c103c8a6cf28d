from crm.core.piccolo_apps import area_app_config
from crm.identity.tables import RecoveryCode, SavedView, StaffSession

APP_CONFIG = area_app_config(
    "identity", [StaffSession, RecoveryCode, SavedView], ["crm.core.org.piccolo_app"]
)
