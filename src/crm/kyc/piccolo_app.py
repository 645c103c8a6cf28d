from crm.core.piccolo_apps import area_app_config
from crm.kyc.tables import (
    ClientScreening,
    KycDocument,
    ScreeningMatch,
    Watchlist,
    WatchlistEntry,
    WatchlistVersion,
)

APP_CONFIG = area_app_config(
    "kyc",
    [Watchlist, WatchlistVersion, WatchlistEntry, ClientScreening, ScreeningMatch, KycDocument],
    ["crm.clients.piccolo_app", "crm.core.org.piccolo_app"],
)
