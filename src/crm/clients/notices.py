"""Privacy notices as versioned data. Each legal entity (the data controller) has its own; compliance writes a
draft in the UI, submits it, and a second person approves it for publishing (maker ≠ checker). Publishing
retires the previous version; published text never changes, so a consent that names a version names the
exact words the person read."""

from __future__ import annotations

import json
from dataclasses import dataclass

from crm.clients.tags import ClientsTag
from crm.core.approvals.service import ActionKind, register_action, request_approval
from crm.core.audit.service import record_audit
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import Conflict, NotFound, ValidationFailed
from crm.core.permissions import Permission
from crm.core.scope import in_scope

TITLE_MAX, BODY_MAX = 200, 40_000


def _label(row) -> str:
    return f"Privacy notice v{row['version']}"


async def versions(entity_id: int) -> list[dict]:
    return [
        dict(r)
        for r in await fetch(
            "SELECT n.id, n.version, n.title, n.status, n.created_at, n.published_at, n.approval_request_id, "
            "u.full_name AS author FROM privacy_notice n LEFT JOIN staff_user u ON u.id = n.created_by "
            "WHERE n.entity = $1 ORDER BY n.version DESC",
            entity_id,
        )
    ]


async def overview(actor: Actor) -> list[dict]:
    """Each entity the actor manages notices for, with its published and its working version."""
    entities = sorted(actor.entities_with(Permission.CLIENTS_NOTICE_MANAGE))
    rows = await fetch(
        "SELECT e.id, e.code, e.name, "
        "(SELECT row_to_json(p) FROM (SELECT id, version, title, published_at FROM privacy_notice "
        "  WHERE entity = e.id AND status = 'published') p) AS published, "
        "(SELECT row_to_json(d) FROM (SELECT id, version, status FROM privacy_notice "
        "  WHERE entity = e.id AND status IN ('draft', 'pending') ORDER BY version DESC LIMIT 1) d) "
        "AS working "
        "FROM legal_entity e WHERE e.id = ANY($1::int[]) AND e.active ORDER BY e.code",
        entities,
    )
    return [dict(r) | {k: json.loads(r[k]) if r[k] else None for k in ("published", "working")} for r in rows]


async def notice(actor: Actor, notice_id: int) -> dict:
    rows = await fetch(
        "SELECT n.*, e.code AS entity_code, e.name AS entity_name, u.full_name AS author "
        "FROM privacy_notice n JOIN legal_entity e ON e.id = n.entity "
        "LEFT JOIN staff_user u ON u.id = n.created_by WHERE n.id = $1",
        notice_id,
    )
    row = dict(rows[0]) | {"entity_id": rows[0]["entity"]} if rows else None
    return in_scope(actor, Permission.CLIENTS_NOTICE_MANAGE, row, "Privacy notice")


_READABLE = (
    "SELECT n.id, n.entity AS entity_id, n.version, n.title, n.body, n.published_at, n.status, "
    "e.code AS entity_code, e.name AS entity_name "
    "FROM privacy_notice n JOIN legal_entity e ON e.id = n.entity "
)


async def published(entity_id: int) -> dict | None:
    """The entity's published notice, for anyone to read."""
    rows = await fetch(_READABLE + "WHERE n.entity = $1 AND n.status = 'published'", entity_id)
    return dict(rows[0]) if rows else None


async def readable(entity_code: str, version: int | None = None) -> dict | None:
    """The entity's notice in force, or a version that was published (it may be retired since): the words
    a consent names. Public: anyone may read what they were asked to accept."""
    if version is None:
        where, args = "n.status = 'published'", (entity_code,)
    else:
        where, args = "n.version = $2 AND n.status IN ('published', 'retired')", (entity_code, version)
    rows = await fetch(_READABLE + f"WHERE lower(e.code) = lower($1) AND {where}", *args)  # noqa: S608
    return dict(rows[0]) if rows else None


@dataclass(frozen=True)
class Block:
    """A piece of a notice's body: a heading, a paragraph or a list. The body is plain text: a line starting
    with "## " is a heading, a line starting with "- " starts a list item (the lines after it continue the
    item), a blank line ends a paragraph or a list."""

    kind: str
    lines: tuple[str, ...]


def blocks(body: str) -> list[Block]:
    out: list[Block] = []
    for chunk in body.replace("\r\n", "\n").split("\n\n"):
        lines = [line.strip() for line in chunk.split("\n") if line.strip()]
        if lines and lines[0].startswith("## "):
            out.append(Block("heading", (lines.pop(0)[3:].strip(),)))
        if not lines:
            continue
        if lines[0].startswith("- "):
            items: list[str] = []
            for line in lines:
                if line.startswith("- "):
                    items.append(line[2:].strip())
                else:
                    items[-1] += " " + line
            out.append(Block("list", tuple(items)))
        else:
            out.append(Block("paragraph", (" ".join(lines),)))
    return out


def check(form: dict) -> tuple[str, str]:
    title = " ".join(str(form.get("title") or "").split())
    body = str(form.get("body") or "").replace("\r\n", "\n").strip()
    errors = {}
    if not 3 <= len(title) <= TITLE_MAX:
        errors["title"] = f"Give the notice a title (3 to {TITLE_MAX} characters)."
    if len(body) < 200:
        errors["body"] = "The notice is too short to tell a person what happens to their data."
    elif len(body) > BODY_MAX:
        errors["body"] = f"The notice is longer than {BODY_MAX:,} characters."
    if errors:
        raise ValidationFailed("Please correct the highlighted fields", field_errors=errors)
    return title, body


async def save_draft(actor: Actor, entity_id: int, form: dict) -> int:
    """Write the entity's working draft (a new version after the last one if there is none); a submitted
    draft is frozen until decided. Returns the draft's id."""
    actor.require(Permission.CLIENTS_NOTICE_MANAGE, entity_id)
    title, body = check(form)
    async with transaction():
        conn = current_connection()
        if not await conn.fetchval("SELECT id FROM legal_entity WHERE id = $1 FOR UPDATE", entity_id):
            raise NotFound("Legal entity")  # the entity row's lock orders concurrent first drafts
        draft = await conn.fetchrow(
            "SELECT * FROM privacy_notice WHERE entity = $1 AND status IN ('draft', 'pending') "
            "ORDER BY version DESC LIMIT 1",
            entity_id,
        )
        if draft and draft["status"] == "pending":
            raise Conflict("This draft is waiting for approval; it can change again once decided")
        if draft:
            before = {"title": draft["title"], "body": draft["body"]}
            await conn.execute(
                "UPDATE privacy_notice SET title = $2, body = $3, created_by = $4 WHERE id = $1",
                draft["id"],
                title,
                body,
                actor.user_id,
            )
            notice_id, version = draft["id"], draft["version"]
        else:
            before = None
            version = await conn.fetchval(
                "SELECT coalesce(max(version), 0) + 1 FROM privacy_notice WHERE entity = $1", entity_id
            )
            notice_id = await conn.fetchval(
                "INSERT INTO privacy_notice (entity, version, title, body, status, created_by, created_at) "
                "VALUES ($1, $2, $3, $4, 'draft', $5, now()) RETURNING id",
                entity_id,
                version,
                title,
                body,
                actor.user_id,
            )
        await record_audit(
            actor,
            ClientsTag.NOTICE_DRAFT,
            target_type="privacy_notice",
            target_id=notice_id,
            target_label=f"Privacy notice v{version}",
            entity_id=entity_id,
            before=before,
            after={"title": title, "body": body},
        )
    return notice_id


async def submit(actor: Actor, notice_id: int, reason: str) -> int:
    """Ask for the draft to be published; the approval binds the exact text submitted."""
    async with transaction():
        row = in_scope(
            actor,
            Permission.CLIENTS_NOTICE_MANAGE,
            await current_connection().fetchrow(
                "SELECT *, entity AS entity_id FROM privacy_notice WHERE id = $1 FOR UPDATE", notice_id
            ),
            "Privacy notice",
        )
        if row["status"] != "draft":
            raise Conflict(f"Only a draft can be submitted (this one is {row['status']})")
        request_id = await request_approval(
            actor,
            "clients.notice.publish",
            entity_id=row["entity"],
            target_type="privacy_notice",
            target_id=notice_id,
            target_label=_label(row),
            reason=reason,
            payload={
                "notice_id": notice_id,
                "version": row["version"],
                "title": row["title"],
                "body": row["body"],
            },
        )
        await current_connection().execute(
            "UPDATE privacy_notice SET status = 'pending', approval_request_id = $2 WHERE id = $1",
            notice_id,
            request_id,
        )
    return request_id


async def _publish(actor: Actor, request: dict) -> None:
    p = request["payload"]
    conn = current_connection()
    row = await conn.fetchrow("SELECT * FROM privacy_notice WHERE id = $1 FOR UPDATE", p["notice_id"])
    if row is None or row["status"] != "pending":
        raise Conflict("This notice is no longer waiting for approval")
    current = await conn.fetchrow(
        "SELECT * FROM privacy_notice WHERE entity = $1 AND status = 'published' FOR UPDATE", row["entity"]
    )
    if current:
        await conn.execute("UPDATE privacy_notice SET status = 'retired' WHERE id = $1", current["id"])
    await conn.execute(
        "UPDATE privacy_notice SET status = 'published', title = $2, body = $3, published_at = now() "
        "WHERE id = $1",
        row["id"],
        p["title"],
        p["body"],
    )
    await record_audit(
        actor,
        ClientsTag.NOTICE_PUBLISH,
        target_type="privacy_notice",
        target_id=row["id"],
        target_label=_label(row),
        entity_id=row["entity"],
        before={"version": current["version"], "title": current["title"]} if current else None,
        after={"version": row["version"], "title": p["title"], "body": p["body"]},
        reason=request["reason"],
    )


async def _back_to_draft(actor: Actor, request: dict) -> None:
    await current_connection().execute(
        "UPDATE privacy_notice SET status = 'draft' WHERE id = $1 AND status = 'pending'",
        request["payload"]["notice_id"],
    )


register_action(
    ActionKind(
        name="clients.notice.publish",
        label="Publish a privacy notice",
        approver_permission=Permission.CLIENTS_NOTICE_MANAGE,
        execute=_publish,
        on_reject=_back_to_draft,
    )
)
