"""Stored files: case attachments now, KYC evidence later. Content lives in PostgreSQL, so a file and the
record that points at it commit (and are backed up) together; the SHA-256 is kept for evidence and
deduplication."""

from piccolo.columns import Bytea, Integer, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class StoredFile(Table, tablename="stored_file"):
    filename = Varchar(length=255)
    content_type = Varchar(length=120)
    size = Integer()
    sha256 = Varchar(length=64, index=True)
    content = Bytea()
    entity_id = Integer(null=True, default=None)
    uploaded_by_id = Integer(null=True, default=None)
    created_at = Timestamptz(default=TimestamptzNow())
