"""Keeping and reading stored files, with the checks every upload gets (size, name, type sniffed from
content)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from crm.core.errors import ValidationFailed
from crm.core.files.tables import StoredFile

MAX_BYTES = 10 * 1024 * 1024

# Types staff may attach; the type is taken from the content where it can be recognised, not from the browser.
_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
)
_TEXT_SUFFIXES = {
    ".txt": "text/plain",
    ".csv": "text/csv",
    ".eml": "message/rfc822",
    ".json": "application/json",
}
_ZIP_SUFFIXES = {".docx", ".xlsx", ".zip", ".odt", ".ods"}


@dataclass(frozen=True)
class FileInfo:
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str


def clean_filename(name: str) -> str:
    name = re.sub(r"[^\w.\- ()]+", "_", (name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return name[:200] or "file"


def sniff(filename: str, content: bytes) -> str:
    """The content type we trust, or a ValidationFailed naming why the file is refused."""
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    for magic, kind in _MAGIC:
        if content.startswith(magic):
            if kind == "application/zip" and suffix not in _ZIP_SUFFIXES:
                break
            return kind
    if suffix in _TEXT_SUFFIXES:
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed(
                "That text file is not UTF-8", field_errors={"file": "Save it as UTF-8 text."}
            ) from None
        return _TEXT_SUFFIXES[suffix]
    raise ValidationFailed(
        "This kind of file cannot be attached",
        field_errors={"file": "Attach a PDF, image (PNG, JPEG, GIF), text, CSV, e-mail or office file."},
    )


async def store(
    filename: str, content: bytes, *, entity_id: int | None, uploaded_by_id: int | None
) -> FileInfo:
    """Validate and keep a file in the current transaction."""
    if not content:
        raise ValidationFailed("The file is empty", field_errors={"file": "Choose a file."})
    if len(content) > MAX_BYTES:
        raise ValidationFailed(
            "The file is too large", field_errors={"file": f"At most {MAX_BYTES // 1024 // 1024} MB."}
        )
    name = clean_filename(filename)
    kind = sniff(name, content)
    digest = hashlib.sha256(content).hexdigest()
    rows = await StoredFile.insert(
        StoredFile(
            filename=name,
            content_type=kind,
            size=len(content),
            sha256=digest,
            content=content,
            entity_id=entity_id,
            uploaded_by_id=uploaded_by_id,
        )
    ).returning(StoredFile.id)
    return FileInfo(rows[0]["id"], name, kind, len(content), digest)


async def load(file_id: int) -> dict | None:
    return await StoredFile.select().where(StoredFile.id == file_id).first()
