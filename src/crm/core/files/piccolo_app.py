from crm.core.files.tables import StoredFile
from crm.core.piccolo_apps import area_app_config

APP_CONFIG = area_app_config("files", [StoredFile])
