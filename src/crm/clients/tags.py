"""The clients area's audit action tags (`area:subject:action`)."""

from enum import StrEnum

from crm.core.labels import LABELS


class ClientsTag(StrEnum):
    PII_REVEAL = "clients:pii:reveal"


LABELS.add("audit_action", {ClientsTag.PII_REVEAL: "Client personal data revealed"})
