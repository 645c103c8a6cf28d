from crm.clients.tables import Client, PiiReveal
from crm.core.piccolo_apps import area_app_config

APP_CONFIG = area_app_config("clients", [Client, PiiReveal], ["crm.core.org.piccolo_app"])
