from crm.clients.tables import Brand, Client, Consent, PiiReveal, PrivacyNotice
from crm.core.piccolo_apps import area_app_config

APP_CONFIG = area_app_config(
    "clients", [Client, PiiReveal, Brand, PrivacyNotice, Consent], ["crm.core.org.piccolo_app"]
)
