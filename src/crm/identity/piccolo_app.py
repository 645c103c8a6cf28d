from crm.core.piccolo_apps import area_app_config
from crm.identity.tables import (
    ClientAccount,
    ClientSession,
    ClientToken,
    RecoveryCode,
    SavedView,
    StaffSession,
)

APP_CONFIG = area_app_config(
    "identity",
    [StaffSession, RecoveryCode, SavedView, ClientAccount, ClientSession, ClientToken],
    ["crm.core.org.piccolo_app", "crm.clients.piccolo_app"],
)
