"""KYC documents a client sends (or staff add for them): checked at upload (checks.py), kept in the file store
with both hashes, recorded as evidence (audited with the client, announced as `kyc.document.received`)."""

from __future__ import annotations

import asyncio
import json

from crm.core.audit.service import record_audit
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import NotFound, ValidationFailed
from crm.core.events.service import emit
from crm.core.files.service import load, store
from crm.core.i18n import N_
from crm.core.permissions import Permission
from crm.core.scope import in_scope
from crm.kyc import requirements
from crm.kyc.documents.checks import UploadRefused, check_upload
from crm.kyc.tags import KycTag

KINDS = {
    "passport": N_("Passport"),
    "id_card": N_("Identity card"),
    "driving_licence": N_("Driving licence"),
    "proof_of_address": N_("Proof of address (a utility bill or bank statement, under 3 months old)"),
    "selfie": N_("Selfie"),
}
PHOTO_ONLY = {"selfie"}
CHOOSE_KIND = N_("Choose what this document is.")
SELFIE_PHOTO = N_("A selfie is a photo of your face: take it with the camera.")


NOT_FROM_COUNTRY = N_("This document is not accepted from your country of residence. Choose another one.")


async def kinds_for(client_id: int) -> dict[str, str]:
    """The kinds of document this client may send: the identity documents their entity accepts from their
    country (the KYC requirements in force), a proof of address and a selfie."""
    client = (await fetch("SELECT entity, country FROM client WHERE id = $1", client_id))[0]
    rules = await requirements.in_force(client["entity"])
    accepted = requirements.identity_documents_for(rules["document"] if rules else None, client["country"])
    return {k: v for k, v in KINDS.items() if k not in requirements.IDENTITY_DOCUMENTS or k in accepted}


async def receive(
    actor: Actor, client_id: int, kind: str, filename: str, content: bytes, *, source: str
) -> dict:
    """Check and keep one document for the client; UploadRefused (or ValidationFailed) says what to fix."""
    if kind not in KINDS:
        raise ValidationFailed(CHOOSE_KIND, field_errors={"kind": CHOOSE_KIND})
    if kind not in await kinds_for(client_id):
        raise ValidationFailed(NOT_FROM_COUNTRY, field_errors={"kind": NOT_FROM_COUNTRY})
    checked = await asyncio.to_thread(check_upload, content)  # decoding a photo takes a moment: off the loop
    if kind in PHOTO_ONLY and not checked.content_type.startswith("image/"):
        raise ValidationFailed(SELFIE_PHOTO, field_errors={"file": SELFIE_PHOTO})
    client = (await fetch("SELECT id, reference, entity FROM client WHERE id = $1", client_id))[0]
    suffix = {"image/jpeg": "jpg", "image/png": "png", "application/pdf": "pdf"}[checked.content_type]
    async with transaction():
        info = await store(
            f"{client['reference']}-{kind}.{suffix}",
            checked.content,
            entity_id=client["entity"],
            uploaded_by_id=None,
        )
        row = await current_connection().fetchrow(
            "INSERT INTO kyc_document (client, entity, kind, file_id, original_name, received_sha256, "
            "stored_sha256, content_type, size, checks, source, status, received_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, 'received', now()) RETURNING *",
            client_id,
            client["entity"],
            kind,
            info.id,
            (filename or "")[:200],
            checked.received_sha256,
            checked.stored_sha256,
            checked.content_type,
            len(checked.content),
            _json(checked),
            source,
        )
        evidence = {
            "kind": kind,
            "document_id": row["id"],
            "received_sha256": checked.received_sha256,
            "stored_sha256": checked.stored_sha256,
            "content_type": checked.content_type,
            "size": len(checked.content),
            "source": source,
        }
        await record_audit(
            actor,
            KycTag.DOCUMENT_RECEIVE,
            target_type="client",
            target_id=client_id,
            target_label=client["reference"],
            entity_id=client["entity"],
            client_id=client_id,
            after=evidence,
        )
        await emit(
            actor,
            "kyc.document.received",
            entity_id=client["entity"],
            subject_type="client",
            subject_id=client_id,
            payload={"client_id": client_id} | evidence,
        )
    return dict(row)


def _json(checked) -> str:
    return json.dumps(
        {"width": checked.width, "height": checked.height, "pages": checked.pages} | checked.figures
    )


async def documents_of(client_id: int) -> list[dict]:
    rows = await fetch(
        "SELECT id, kind, content_type, size, status, source, received_at, stored_sha256, checks "
        "FROM kyc_document WHERE client = $1 ORDER BY id DESC",
        client_id,
    )
    return [dict(r) | {"checks": json.loads(r["checks"])} for r in rows]


async def client_documents(actor: Actor, client_id: int) -> list[dict]:
    """The client's documents for a reviewer in the client's entity (NotFound outside it)."""
    rows = await fetch("SELECT id, entity FROM client WHERE id = $1", client_id)
    in_scope(actor, Permission.KYC_REVIEW_VIEW, rows[0] if rows else None, "Client", entity="entity")
    return await documents_of(client_id)


async def document_file(actor: Actor, document_id: int) -> dict:
    """A document's file for a reviewer, the viewing audited (it is identity evidence)."""
    async with transaction():
        rows = await fetch(
            "SELECT d.*, c.reference FROM kyc_document d JOIN client c ON c.id = d.client WHERE d.id = $1",
            document_id,
        )
        document = in_scope(
            actor, Permission.KYC_REVIEW_VIEW, rows[0] if rows else None, "Document", entity="entity"
        )
        stored = await load(document["file_id"])
        if stored is None:
            raise NotFound("Document")
        await record_audit(
            actor,
            KycTag.DOCUMENT_VIEW,
            target_type="client",
            target_id=document["client"],
            target_label=document["reference"],
            entity_id=document["entity"],
            client_id=document["client"],
            after={"document_id": document_id, "kind": document["kind"], "sha256": document["stored_sha256"]},
        )
    return stored


__all__ = ["KINDS", "UploadRefused", "client_documents", "document_file", "documents_of", "receive"]
