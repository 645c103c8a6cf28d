"""Client records (the KYC and portal areas extend them) and the log of personal-data reveals."""

from enum import StrEnum

from piccolo.columns import Date, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from crm.core.labels import LABELS
from crm.core.org.tables import LegalEntity, StaffUser


class ClientStatus(StrEnum):
    REGISTERED = "registered"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class Client(Table, tablename="client"):
    """A registered person; personal fields are masked on every staff screen unless revealed."""

    reference = Varchar(length=20, unique=True)
    entity = ForeignKey(LegalEntity, index=True)
    first_name = Varchar(length=100)
    last_name = Varchar(length=100)
    email = Varchar(length=254)
    phone = Varchar(length=32, default="")
    country = Varchar(length=2)
    date_of_birth = Date(null=True, default=None)
    id_number = Varchar(length=64, default="")
    bank_account = Varchar(length=64, default="")
    status = Varchar(length=20, choices=ClientStatus, default=ClientStatus.REGISTERED)
    owner = ForeignKey(StaffUser, null=True)
    created_at = Timestamptz(default=TimestamptzNow())


class PiiReveal(Table, tablename="pii_reveal"):
    """A staff user's reasoned reveal of one masked field, valid until `expires_at`."""

    user = ForeignKey(StaffUser, index=True)
    client = ForeignKey(Client, null=True)
    lead_id = Integer(null=True, default=None, index=True)  # a lead's contact data (leads have no client yet)
    field = Varchar(length=40)
    reason = Text()
    created_at = Timestamptz(default=TimestamptzNow(), index=True)
    expires_at = Timestamptz()


LABELS.add(
    "client_status",
    {
        ClientStatus.REGISTERED: "Registered",
        ClientStatus.ACTIVE: "Active",
        ClientStatus.SUSPENDED: "Suspended",
        ClientStatus.CLOSED: "Closed",
    },
    {
        ClientStatus.REGISTERED: "info",
        ClientStatus.ACTIVE: "ok",
        ClientStatus.SUSPENDED: "danger",
        ClientStatus.CLOSED: "neutral",
    },
)
