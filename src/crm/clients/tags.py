"""The clients area's audit action tags (`area:subject:action`)."""

from enum import StrEnum

from crm.core.labels import LABELS


class ClientsTag(StrEnum):
    PII_REVEAL = "clients:pii:reveal"
    CLIENT_REGISTER = "clients:client:register"
    PROFILE_CHANGE = "clients:profile:change"
    BRAND_SAVE = "clients:brand:save"
    NOTICE_DRAFT = "clients:notice:draft"
    NOTICE_PUBLISH = "clients:notice:publish"


LABELS.add(
    "audit_action",
    {
        ClientsTag.PII_REVEAL: "Client personal data revealed",
        ClientsTag.CLIENT_REGISTER: "Client registered in the portal",
        ClientsTag.PROFILE_CHANGE: "Client changed their profile",
        ClientsTag.BRAND_SAVE: "Brand saved",
        ClientsTag.NOTICE_DRAFT: "Privacy notice drafted",
        ClientsTag.NOTICE_PUBLISH: "Privacy notice published",
    },
)
