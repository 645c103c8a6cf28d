from crm.core.events.tables import AutomationRun, DeadJob, DomainEvent, EventDelivery
from crm.core.piccolo_apps import area_app_config

APP_CONFIG = area_app_config("events", [DomainEvent, EventDelivery, AutomationRun, DeadJob])
