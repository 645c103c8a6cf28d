from crm.core.inbox.tables import WebhookEvent
from crm.core.piccolo_apps import area_app_config

APP_CONFIG = area_app_config("inbox", [WebhookEvent])
