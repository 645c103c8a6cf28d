from crm.core.cases.tables import CaseEntry, CaseSubject, WorkCase
from crm.core.piccolo_apps import area_app_config

APP_CONFIG = area_app_config("cases", [WorkCase, CaseSubject, CaseEntry], ["crm.core.events.piccolo_app"])
