from crm.core.notifications.tables import (
    Notification,
    NotificationDelivery,
    NotificationPreference,
    NotificationTemplate,
)
from crm.core.piccolo_apps import area_app_config

APP_CONFIG = area_app_config(
    "notifications", [Notification, NotificationPreference, NotificationDelivery, NotificationTemplate]
)
