"""KYC: watchlists (sanctions and PEP lists) kept version by version. An entry row lives from the version that
brought it (or changed it) to the version that changed or removed it, so any two versions can be compared
and a re-screen after an import looks only at the entries that moved."""

from piccolo.columns import JSONB, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


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
