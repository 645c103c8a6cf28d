"""Client records (the KYC and portal areas extend them), the log of personal-data reveals, and what a person
sees and agrees to before becoming one: brands, privacy notices, consents."""

from enum import StrEnum

from piccolo.columns import Boolean, Date, ForeignKey, Integer, Text, Timestamptz, Varchar
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
    lead_id = Integer(null=True, default=None, index=True)  # the lead they were (its history stays with it)
    ib_code = Varchar(length=40, default="")  # the introducing partner the lead came through
    brand = Varchar(length=40, default="")
    language = Varchar(length=8, default="en")  # for e-mails and notifications
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


class Brand(Table, tablename="brand"):
    """A trading name a prospect sees (`lead.brand` and the entity rules use its code); edited in the UI."""

    code = Varchar(length=40, unique=True)  # lower-case; the public form's ?brand=
    name = Varchar(length=120)
    accent = Varchar(length=7, default="#1d4ed8")  # the brand's colour on its public pages
    risk_warning = Text(default="")
    active = Boolean(default=True)
    updated_at = Timestamptz(default=TimestamptzNow())


class NoticeStatus(StrEnum):
    DRAFT = "draft"
    PENDING = "pending"
    PUBLISHED = "published"
    RETIRED = "retired"


class PrivacyNotice(Table, tablename="privacy_notice"):
    """One version of a legal entity's privacy notice (the entity is the data controller). A draft is
    published when a second person approves; published text never changes, and a consent names its version."""

    entity = ForeignKey(LegalEntity, index=True)
    version = Integer()
    title = Varchar(length=200)
    body = Text()
    status = Varchar(length=20, choices=NoticeStatus, default=NoticeStatus.DRAFT)
    created_by = ForeignKey(StaffUser, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    published_at = Timestamptz(null=True, default=None)
    approval_request_id = Integer(null=True, default=None)


class Consent(Table, tablename="consent"):
    """What a person agreed to, when, from where: a privacy notice (its exact version) or marketing contact.
    Kept with the lead now, and with the client it becomes."""

    lead_id = Integer(null=True, default=None, index=True)
    client = ForeignKey(Client, null=True, index=True)
    kind = Varchar(length=20)  # privacy | marketing
    granted = Boolean()
    notice = ForeignKey(PrivacyNotice, null=True)
    notice_version = Integer(null=True, default=None)
    entity = ForeignKey(LegalEntity)
    channel = Varchar(length=20)
    ip = Varchar(length=45, default="")
    user_agent = Varchar(length=300, default="")
    given_at = Timestamptz(default=TimestamptzNow())


LABELS.add(
    "notice_status",
    {
        NoticeStatus.DRAFT: "Draft",
        NoticeStatus.PENDING: "Waiting for approval",
        NoticeStatus.PUBLISHED: "Published",
        NoticeStatus.RETIRED: "Retired",
    },
    {
        NoticeStatus.DRAFT: "neutral",
        NoticeStatus.PENDING: "warn",
        NoticeStatus.PUBLISHED: "ok",
        NoticeStatus.RETIRED: "neutral",
    },
)
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
