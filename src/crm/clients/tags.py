"""The clients area's audit action tags (`area:subject:action`)."""

from enum import StrEnum


class ClientsTag(StrEnum):
    PII_REVEAL = "clients:pii:reveal"
