from crm.core.piccolo_apps import area_app_config
from crm.core.rules.tables import RuleVersion

APP_CONFIG = area_app_config("rules", [RuleVersion])
