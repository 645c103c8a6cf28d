"""The KYC area's audit action tags (`area:subject:action`)."""

from enum import StrEnum

from crm.core.labels import LABELS


class KycTag(StrEnum):
    WATCHLIST_IMPORT = "kyc:watchlist:import"


LABELS.add("audit_action", {KycTag.WATCHLIST_IMPORT: "Watchlist version imported"})
