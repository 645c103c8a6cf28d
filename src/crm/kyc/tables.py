"""KYC: watchlists (sanctions and PEP lists) kept version by version. An entry row lives from the version that
brought it (or changed it) to the version that changed or removed it, so any two versions can be compared
and a re-screen after an import looks only at the entries that moved; each client's screening and its matches,
decided by people."""

from enum import StrEnum

from piccolo.columns import JSONB, Boolean, Date, ForeignKey, Integer, Numeric, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from crm.clients.tables import Client
from crm.core.labels import LABELS
from crm.core.org.tables import LegalEntity, StaffUser


class Watchlist(Table, tablename="watchlist"):
    """A list the group screens against (OFAC SDN, a PEP dataset ...)."""

    code = Varchar(length=40, unique=True)
    name = Varchar(length=200)
    kind = Varchar(length=20)  # sanctions | pep
    format = Varchar(length=20)  # sdn | simple | ftm (kyc/screening/formats.py)
    created_at = Timestamptz(default=TimestamptzNow())


class WatchlistVersion(Table, tablename="watchlist_version"):
    """One import of a list: the file's hash and what changed against the version before."""

    watchlist = ForeignKey(Watchlist, index=True)
    label = Varchar(length=120)  # e.g. the publication date
    sha256 = Varchar(length=64)
    entries = Integer(default=0)
    added = Integer(default=0)
    changed = Integer(default=0)
    removed = Integer(default=0)
    imported_by = Varchar(length=200, default="")
    imported_at = Timestamptz(default=TimestamptzNow())


class WatchlistEntry(Table, tablename="watchlist_entry"):
    """An entry as one or more versions had it (to_version NULL: as the latest version has it)."""

    watchlist = ForeignKey(Watchlist)
    entry_key = Varchar(length=100)
    content_hash = Varchar(length=64)
    kind = Varchar(length=20)
    names = JSONB(default=list)
    birth_dates = JSONB(default=list)
    countries = JSONB(default=list)
    programs = JSONB(default=list)
    from_version = ForeignKey(WatchlistVersion)
    to_version = ForeignKey(WatchlistVersion, null=True, default=None)
    note = Text(default="")


class ScreeningStatus(StrEnum):
    CLEAR = "clear"  # no undecided match, no true match
    REVIEW = "review"  # a match waits for a reviewer (or a second approver)
    CONFIRMED = "confirmed"  # a reviewer confirmed a true match: the client is blocked


class ClientScreening(Table, tablename="client_screening"):
    """Where a client stands against the lists: what was screened last (a changed name, date of birth or
    country is screened again), when, and the open screening case."""

    client = ForeignKey(Client, unique=True)
    entity = ForeignKey(LegalEntity, index=True)
    status = Varchar(length=20, choices=ScreeningStatus, default=ScreeningStatus.CLEAR)
    screened_name = Varchar(length=300, default="")
    screened_dob = Date(null=True, default=None)
    screened_country = Varchar(length=2, default="")
    screened_at = Timestamptz(default=TimestamptzNow())
    open_matches = Integer(default=0)
    case_reference = Varchar(length=20, null=True, default=None)


class MatchStatus(StrEnum):
    OPEN = "open"
    CLEARING = "clearing"  # a reviewer said false match on a strong hit; a second person must approve
    FALSE_MATCH = "false_match"
    TRUE_MATCH = "true_match"
    LAPSED = "lapsed"  # the entry left the list (or changed) before anyone decided


class ScreeningMatch(Table, tablename="screening_match"):
    """One client hit on one entry row. The row id is the entry as it was: a decided match is never raised
    again for that row, and a changed entry (a new row) is raised afresh."""

    client = ForeignKey(Client, index=True)
    entity = ForeignKey(LegalEntity)
    list_code = Varchar(length=40)
    list_kind = Varchar(length=20)  # sanctions | pep
    entry_key = Varchar(length=100)
    entry_row = Integer()  # watchlist_entry.id
    entry_name = Varchar(length=300)
    score = Numeric(digits=(4, 3))
    strong = Boolean(default=False)
    explanation = JSONB(default="{}")
    status = Varchar(length=20, choices=MatchStatus, default=MatchStatus.OPEN)
    case_reference = Varchar(length=20, null=True, default=None)
    found_at = Timestamptz(default=TimestamptzNow())
    decided_by = ForeignKey(StaffUser, null=True)
    decided_at = Timestamptz(null=True, default=None)
    decision_reason = Text(default="")
    approval_request_id = Integer(null=True, default=None)


LABELS.add(
    "screening_status",
    {
        ScreeningStatus.CLEAR: "Clear",
        ScreeningStatus.REVIEW: "Hits to review",
        ScreeningStatus.CONFIRMED: "Confirmed match",
    },
    {ScreeningStatus.CLEAR: "ok", ScreeningStatus.REVIEW: "warn", ScreeningStatus.CONFIRMED: "danger"},
)
LABELS.add(
    "match_status",
    {
        MatchStatus.OPEN: "To review",
        MatchStatus.CLEARING: "False match, waiting for a second approver",
        MatchStatus.FALSE_MATCH: "False match",
        MatchStatus.TRUE_MATCH: "True match",
        MatchStatus.LAPSED: "Entry left the list",
    },
    {
        MatchStatus.OPEN: "warn",
        MatchStatus.CLEARING: "info",
        MatchStatus.FALSE_MATCH: "neutral",
        MatchStatus.TRUE_MATCH: "danger",
        MatchStatus.LAPSED: "neutral",
    },
)
LABELS.add("case_event", {"screening": "Screening"})


class DocumentStatus(StrEnum):
    RECEIVED = "received"  # passed the upload checks, waiting for review
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"


class KycDocument(Table, tablename="kyc_document"):
    """A document a client sent (or staff added for them), as evidence: the file kept (images re-encoded
    without metadata), the hash of what was received and of what is kept, the upload checks' figures."""

    client = ForeignKey(Client, index=True)
    entity = ForeignKey(LegalEntity)
    kind = Varchar(length=30)  # passport | id_card | driving_licence | proof_of_address | selfie
    file_id = Integer()  # stored_file.id
    original_name = Varchar(length=200, default="")
    received_sha256 = Varchar(length=64)
    stored_sha256 = Varchar(length=64)
    content_type = Varchar(length=60)
    size = Integer()
    checks = JSONB(default="{}")
    source = Varchar(length=20)  # portal | staff
    status = Varchar(length=20, choices=DocumentStatus, default=DocumentStatus.RECEIVED)
    received_at = Timestamptz(default=TimestamptzNow())


LABELS.add(
    "document_status",
    {
        DocumentStatus.RECEIVED: "Received",
        DocumentStatus.ACCEPTED: "Accepted",
        DocumentStatus.REJECTED: "Rejected",
        DocumentStatus.EXPIRED: "Expired",
    },
    {
        DocumentStatus.RECEIVED: "info",
        DocumentStatus.ACCEPTED: "ok",
        DocumentStatus.REJECTED: "danger",
        DocumentStatus.EXPIRED: "warn",
    },
)
