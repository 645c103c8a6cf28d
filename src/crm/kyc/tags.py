"""The KYC area's audit action tags (`area:subject:action`)."""

from enum import StrEnum

from crm.core.labels import LABELS


class KycTag(StrEnum):
    WATCHLIST_IMPORT = "kyc:watchlist:import"
    SCREENING_HIT = "kyc:screening:hit"
    MATCH_DECIDE = "kyc:match:decide"
    MATCH_CLEAR = "kyc:match:clear"
    MATCH_REOPEN = "kyc:match:reopen"
    MATCH_LAPSE = "kyc:match:lapse"
    DOCUMENT_RECEIVE = "kyc:document:receive"
    DOCUMENT_VIEW = "kyc:document:view"


LABELS.add(
    "audit_action",
    {
        KycTag.WATCHLIST_IMPORT: "Watchlist version imported",
        KycTag.SCREENING_HIT: "Screening hit raised",
        KycTag.MATCH_DECIDE: "Screening match decided",
        KycTag.MATCH_CLEAR: "Strong screening match cleared (second approver)",
        KycTag.MATCH_REOPEN: "Clearing of a screening match refused",
        KycTag.MATCH_LAPSE: "Screening match lapsed (entry left the list)",
        KycTag.DOCUMENT_RECEIVE: "KYC document received",
        KycTag.DOCUMENT_VIEW: "KYC document viewed",
    },
)
