from crm.core.piccolo_apps import area_app_config
from crm.kyc.tables import Watchlist, WatchlistEntry, WatchlistVersion

APP_CONFIG = area_app_config(
    "kyc", [Watchlist, WatchlistVersion, WatchlistEntry], ["crm.clients.piccolo_app"]
)
