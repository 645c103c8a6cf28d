"""Staff sign-in: password, lockout, mandatory TOTP, recovery codes and server-side sessions.

A sign-in is two steps. The password step opens a short "pending" session that can only reach the MFA
pages; the MFA step (or first-time enrolment) ends it and issues a fresh session token, so a token seen
before sign-in is never the one that carries the user's permissions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crm.core.audit.service import record_audit
from crm.core.context import Actor, RequestMeta
from crm.core.db import fetch, transaction
from crm.core.errors import DomainError, ValidationFailed
from crm.core.org.tables import StaffUser
from crm.identity import credentials
from crm.identity.tables import RecoveryCode, StaffSession
from crm.identity.tags import IdentityTag
from crm.settings import Settings

PENDING_SESSION_MINUTES = 10


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def user_actor(user: dict, meta: RequestMeta) -> Actor:
    return Actor(user_id=user["id"], label=f"{user['full_name']} <{user['email']}>", meta=meta)


class AccountLocked(DomainError):
    status_code = 423


@dataclass
class SignIn:
    """The outcome of a sign-in step: the cookie token to set and where the user goes next."""

    token: str
    next_step: str  # "mfa", "enrol", "password" (must change) or "done"


async def open_session(
    user_id: int, meta: RequestMeta, *, verified: bool, settings: Settings, sso: bool = False
) -> str:
    token, token_hash = credentials.new_session_token()
    lifetime = (
        dt.timedelta(hours=settings.session_absolute_hours)
        if verified
        else dt.timedelta(minutes=PENDING_SESSION_MINUTES)
    )
    await StaffSession.insert(
        StaffSession(
            token_hash=token_hash,
            user=user_id,
            expires_at=now() + lifetime,
            mfa_verified=verified,
            via_sso=sso,
            ip=meta.ip,
            user_agent=(meta.user_agent or "")[:1000],
        )
    )
    return token


async def _end_session(session_id: int, reason: str) -> None:
    await StaffSession.update({StaffSession.ended_at: now(), StaffSession.end_reason: reason}).where(
        (StaffSession.id == session_id) & StaffSession.ended_at.is_null()
    )


async def _find_user_by_email(email: str) -> dict | None:
    return await StaffUser.select().where(StaffUser.email == email.strip().lower()).first()


async def _register_failure(
    user: dict | None, email: str, meta: RequestMeta, settings: Settings, step: str
) -> None:
    """Count a failed attempt; the Nth failure in a row locks the account for the configured minutes."""
    async with transaction():
        actor = (
            user_actor(user, meta)
            if user
            else Actor(user_id=None, label=f"unknown <{email[:150]}>", meta=meta)
        )
        await record_audit(
            actor,
            IdentityTag.SIGNIN_FAIL,
            target_type="staff_user",
            target_id=user["id"] if user else None,
            target_label=email[:200],
            entity_id=user["home_entity"] if user else None,
            after={"step": step},
        )
        if user is None:
            return
        attempts = user["failed_attempts"] + 1
        changes: dict = {StaffUser.failed_attempts: attempts}
        if attempts >= settings.lockout_attempts:
            locked_until = now() + dt.timedelta(minutes=settings.lockout_minutes)
            changes = {StaffUser.failed_attempts: 0, StaffUser.locked_until: locked_until}
            await record_audit(
                actor,
                IdentityTag.ACCOUNT_LOCKOUT,
                target_type="staff_user",
                target_id=user["id"],
                target_label=user["email"],
                entity_id=user["home_entity"],
                after={"locked_until": locked_until, "failed_attempts": attempts},
            )
        await StaffUser.update(changes).where(StaffUser.id == user["id"])


def raise_if_locked(user: dict | None) -> None:
    if user and user["locked_until"] and user["locked_until"] > now():
        minutes = max(1, int((user["locked_until"] - now()).total_seconds() // 60) + 1)
        raise AccountLocked(
            f"Too many failed attempts. Try again in {minutes} minutes or ask an administrator."
        )


async def sign_in_with_password(email: str, password: str, meta: RequestMeta, settings: Settings) -> SignIn:
    """Check the password and open a pending session that leads to MFA (or to enrolment)."""
    email = (email or "").strip().lower()
    if not email or not password:
        raise ValidationFailed("Enter your email and password")
    user = await _find_user_by_email(email)
    raise_if_locked(user)
    if (
        not credentials.verify_password(user["password_hash"] if user else None, password)
        or not user["active"]
    ):
        await _register_failure(user, email, meta, settings, "password")
        raise ValidationFailed("Email or password is incorrect")
    async with transaction():
        await StaffUser.update({StaffUser.failed_attempts: 0}).where(StaffUser.id == user["id"])
        token = await open_session(user["id"], meta, verified=False, settings=settings)
    return SignIn(token, "mfa" if user["mfa_enrolled_at"] else "enrol")


async def start_enrolment(user_id: int) -> tuple[str, str]:
    """Give the user a TOTP secret to scan (kept until confirmed); returns (secret, QR SVG)."""
    user = await StaffUser.select().where(StaffUser.id == user_id).first()
    if user["mfa_enrolled_at"]:
        raise ValidationFailed("Two-factor authentication is already set up")
    secret = user["totp_secret"]
    if not secret:
        secret = credentials.new_totp_secret()
        await StaffUser.update({StaffUser.totp_secret: secret}).where(StaffUser.id == user_id)
    return secret, credentials.totp_qr_svg(credentials.totp_uri(secret, user["email"]))


async def _finish_sign_in(
    user: dict, pending_session_id: int, meta: RequestMeta, settings: Settings, method: str
) -> str:
    pending = (
        await StaffSession.select(StaffSession.via_sso).where(StaffSession.id == pending_session_id).first()
    )
    via_sso = bool(pending and pending["via_sso"])
    if via_sso:
        method = method.replace("password", "oidc")
    await _end_session(pending_session_id, "renewed")
    token = await open_session(user["id"], meta, verified=True, settings=settings, sso=via_sso)
    await StaffUser.update({StaffUser.last_signin_at: now(), StaffUser.failed_attempts: 0}).where(
        StaffUser.id == user["id"]
    )
    await record_audit(
        user_actor(user, meta),
        IdentityTag.SIGNIN_SUCCESS,
        target_type="staff_user",
        target_id=user["id"],
        target_label=user["email"],
        entity_id=user["home_entity"],
        after={"method": method},
    )
    return token


async def _claim_totp(user: dict, code: str) -> bool:
    """True when `code` is the user's TOTP code for a time step later than the last one used, which it then
    becomes (compare-and-set: of two requests with one code, one wins): a code works once."""
    step = credentials.totp_step(user["totp_secret"], code)
    if step is None:
        return False
    rows = await fetch(
        """UPDATE staff_user SET totp_last_step = $2 WHERE id = $1
           AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING id""",
        user["id"],
        step,
    )
    return bool(rows)


async def confirm_enrolment(
    user_id: int, pending_session_id: int, code: str, meta: RequestMeta, settings: Settings
) -> tuple[SignIn, list[str]]:
    """Confirm the scanned secret with a code; returns the signed-in session and fresh recovery codes."""
    user = await StaffUser.select().where(StaffUser.id == user_id).first()
    raise_if_locked(user)
    if user["mfa_enrolled_at"] or not await _claim_totp(user, code):
        await _register_failure(user, user["email"], meta, settings, "mfa_enrolment")
        raise ValidationFailed(
            "That code is not valid", field_errors={"code": "Enter the 6-digit code your app shows now."}
        )
    codes = credentials.new_recovery_codes()
    async with transaction():
        await StaffUser.update({StaffUser.mfa_enrolled_at: now()}).where(StaffUser.id == user_id)
        await RecoveryCode.delete().where(RecoveryCode.user == user_id)
        await RecoveryCode.insert(
            *[RecoveryCode(user=user_id, code_hash=credentials.recovery_code_hash(c)) for c in codes]
        )
        await record_audit(
            user_actor(user, meta),
            IdentityTag.MFA_ENROL,
            target_type="staff_user",
            target_id=user_id,
            target_label=user["email"],
            entity_id=user["home_entity"],
            after={"recovery_codes": len(codes)},
        )
        token = await _finish_sign_in(user, pending_session_id, meta, settings, "password+totp")
    return SignIn(token, "password" if user["must_change_password"] else "done"), codes


async def verify_mfa(
    user_id: int, pending_session_id: int, code: str, meta: RequestMeta, settings: Settings
) -> SignIn:
    """Second step: a TOTP code, or a one-time recovery code (which is then used up)."""
    user = await StaffUser.select().where(StaffUser.id == user_id).first()
    raise_if_locked(user)
    method = "password+totp"
    ok = await _claim_totp(user, code)
    async with transaction():
        if not ok and "-" in code:
            used = (
                await RecoveryCode.update({RecoveryCode.used_at: now()}, use_auto_update=False)
                .where(
                    (RecoveryCode.user == user_id)
                    & (RecoveryCode.code_hash == credentials.recovery_code_hash(code))
                    & RecoveryCode.used_at.is_null()
                )
                .returning(RecoveryCode.id)
            )
            ok, method = bool(used), "password+recovery_code"
        if ok:
            token = await _finish_sign_in(user, pending_session_id, meta, settings, method)
    if not ok:
        await _register_failure(user, user["email"], meta, settings, "mfa")
        raise ValidationFailed(
            "That code is not valid",
            field_errors={"code": "Enter the current 6-digit code or a recovery code."},
        )
    return SignIn(token, "password" if user["must_change_password"] else "done")


async def change_own_password(actor: Actor, current: str, new: str, confirm: str) -> None:
    """The user sets a new password (required after an admin reset)."""
    user = await StaffUser.select().where(StaffUser.id == actor.user_id).first()
    if not credentials.verify_password(user["password_hash"], current):
        raise ValidationFailed(
            "Current password is incorrect", field_errors={"current": "Current password is incorrect."}
        )
    if new != confirm:
        raise ValidationFailed(
            "Passwords do not match", field_errors={"confirm": "The two new passwords differ."}
        )
    credentials.check_password_strength(new, email=user["email"])
    if credentials.verify_password(user["password_hash"], new):
        raise ValidationFailed(
            "Choose a new password",
            field_errors={"password": "The new password must differ from the current one."},
        )
    async with transaction():
        await StaffUser.update(
            {StaffUser.password_hash: credentials.hash_password(new), StaffUser.must_change_password: False}
        ).where(StaffUser.id == user["id"])
        await record_audit(
            actor,
            IdentityTag.PASSWORD_CHANGE,
            target_type="staff_user",
            target_id=user["id"],
            target_label=user["email"],
            entity_id=user["home_entity"],
        )


async def sign_out(actor: Actor, session_id: int) -> None:
    async with transaction():
        await _end_session(session_id, "signed_out")
        await record_audit(
            actor, IdentityTag.SESSION_SIGNOUT, target_type="staff_session", target_id=session_id
        )
