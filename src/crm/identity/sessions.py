"""Loading the session behind a cookie, enforcing idle and absolute timeouts, and the expiry sweep."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crm.core.audit.service import record_audit
from crm.core.context import Actor, RequestMeta
from crm.core.db import fetch, transaction
from crm.identity.credentials import session_token_hash
from crm.identity.tables import StaffSession
from crm.identity.tags import IdentityTag
from crm.settings import Settings

_LOAD = """
SELECT s.id, s."user" AS user_id, s.last_seen_at, s.expires_at, s.mfa_verified, s.via_sso, s.focus_entity_id,
       u.email, u.full_name, u.active, u.must_change_password, u.home_entity, u.mfa_enrolled_at,
       coalesce(u.time_zone, e.time_zone, 'UTC') AS time_zone
FROM staff_session s JOIN staff_user u ON u.id = s."user" LEFT JOIN legal_entity e ON e.id = u.home_entity
WHERE s.token_hash = $1 AND s.ended_at IS NULL
"""

TOUCH_EVERY = dt.timedelta(seconds=60)


@dataclass
class CurrentSession:
    id: int
    user_id: int
    email: str
    full_name: str
    mfa_verified: bool
    must_change_password: bool
    mfa_enrolled: bool
    via_sso: bool
    home_entity_id: int | None
    focus_entity_id: int | None
    time_zone: str = "UTC"  # the viewer's (their own setting, else their home entity's)

    @property
    def fully_signed_in(self) -> bool:
        return self.mfa_verified


def expiry_reason(row, settings: Settings, at: dt.datetime) -> str | None:
    if not row["active"]:
        return "user_deactivated"
    if row["expires_at"] <= at:
        return "absolute_timeout" if row["mfa_verified"] else "pending_timeout"
    if (
        row["mfa_verified"]
        and row["last_seen_at"] + dt.timedelta(minutes=settings.session_idle_minutes) <= at
    ):
        return "idle_timeout"
    return None


async def expire_session(row, reason: str, meta: RequestMeta) -> None:
    """End one session and record why, once (a second caller finds it already ended and records nothing)."""
    async with transaction():
        ended = (
            await StaffSession.update(
                {StaffSession.ended_at: dt.datetime.now(dt.UTC), StaffSession.end_reason: reason}
            )
            .where((StaffSession.id == row["id"]) & StaffSession.ended_at.is_null())
            .returning(StaffSession.id)
        )
        if ended:
            actor = Actor(user_id=row["user_id"], label=f"{row['full_name']} <{row['email']}>", meta=meta)
            await record_audit(
                actor,
                IdentityTag.SESSION_EXPIRE,
                target_type="staff_session",
                target_id=row["id"],
                entity_id=row["home_entity"],
                after={"reason": reason},
            )


async def load_session(
    token: str | None, meta: RequestMeta, settings: Settings, *, touch: bool = True
) -> tuple[CurrentSession | None, str | None]:
    """The live session for a cookie token, or (None, why it ended) — expiring it on the way if it is stale.

    `touch=False` checks without counting as activity (a live stream must not keep an idle session alive).
    """
    if not token:
        return None, None
    rows = await fetch(_LOAD, session_token_hash(token))
    if not rows:
        return None, None
    row = rows[0]
    at = dt.datetime.now(dt.UTC)
    reason = expiry_reason(row, settings, at)
    if reason:
        await expire_session(row, reason, meta)
        return None, reason
    if touch and at - row["last_seen_at"] >= TOUCH_EVERY:
        await StaffSession.update({StaffSession.last_seen_at: at}).where(StaffSession.id == row["id"])
    return CurrentSession(
        id=row["id"],
        user_id=row["user_id"],
        email=row["email"],
        full_name=row["full_name"],
        mfa_verified=row["mfa_verified"],
        must_change_password=row["must_change_password"],
        mfa_enrolled=row["mfa_enrolled_at"] is not None,
        via_sso=row["via_sso"],
        home_entity_id=row["home_entity"],
        focus_entity_id=row["focus_entity_id"],
        time_zone=row["time_zone"],
    ), None


_STALE = """
SELECT s.id, s."user" AS user_id, s.last_seen_at, s.expires_at, s.mfa_verified,
       u.email, u.full_name, u.active, u.home_entity
FROM staff_session s JOIN staff_user u ON u.id = s."user"
WHERE s.ended_at IS NULL
  AND (s.expires_at <= $1 OR NOT u.active OR (s.mfa_verified AND s.last_seen_at <= $2))
LIMIT 1000
"""


async def sweep_expired_sessions(settings: Settings) -> int:
    """End every stale session (the job behind the idle/absolute timeouts for browsers that never return)."""
    at = dt.datetime.now(dt.UTC)
    rows = await fetch(_STALE, at, at - dt.timedelta(minutes=settings.session_idle_minutes))
    meta = RequestMeta()
    for row in rows:
        await expire_session(row, expiry_reason(row, settings, at) or "idle_timeout", meta)
    return len(rows)


async def end_user_sessions(user_id: int, reason: str) -> int:
    """End all of a user's sessions (deactivation, MFA reset); the caller audits the cause."""
    ended = (
        await StaffSession.update(
            {StaffSession.ended_at: dt.datetime.now(dt.UTC), StaffSession.end_reason: reason}
        )
        .where((StaffSession.user == user_id) & StaffSession.ended_at.is_null())
        .returning(StaffSession.id)
    )
    return len(ended)


async def set_focus_entity(session_id: int, entity_id: int | None) -> None:
    await StaffSession.update({StaffSession.focus_entity_id: entity_id}).where(StaffSession.id == session_id)
