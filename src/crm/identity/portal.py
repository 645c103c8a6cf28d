"""Client portal sign-in: its own accounts, sessions and e-mailed single-use links, apart from staff identity.

A password is checked like a staff one (argon2, the same strength rule); five failures in a row lock the
account for the configured minutes. Sessions end after the idle and absolute timeouts. Links to verify an
address or reset a password are random, stored as SHA-256, used once and expire (verify 48 h, reset 1 h); a
reset ends every session of the account. Sign-ins, failures, lockouts, verification and resets are audited
with the client's id. Messages a client reads are marked for translation (`N_`); the portal translates them.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from crm.core.audit.service import record_audit
from crm.core.context import Actor, RequestMeta
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import Conflict, ValidationFailed
from crm.core.i18n import N_
from crm.core.jobs import JobRun, enqueue, job
from crm.identity.credentials import (
    check_password_strength,
    hash_password,
    session_token_hash,
    verify_password,
)
from crm.identity.tags import IdentityTag
from crm.settings import Settings

LINK_LIFETIME = {"verify": dt.timedelta(hours=48), "reset": dt.timedelta(hours=1)}
BAD_LINK = N_("This link has expired or was used already. Ask for a new one.")
BAD_SIGN_IN = N_("The e-mail address or password is not right.")
LOCKED = N_("Too many failed attempts. Try again in a few minutes, or reset your password.")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def client_actor(account: dict, meta: RequestMeta | None = None) -> Actor:
    """Who acts when a client does something in the portal (audit rows carry the client's id)."""
    return Actor(user_id=None, label=f"client:{account['reference']} <{account['email']}>", meta=meta)


@dataclass(frozen=True)
class PortalSession:
    id: int
    account_id: int
    client_id: int
    reference: str
    email: str
    first_name: str
    language: str
    email_verified: bool
    entity_id: int


_ACCOUNT = """SELECT a.*, c.reference, c.entity, c.first_name FROM client_account a
JOIN client c ON c.id = a.client"""


async def create_account(client_id: int, email: str, password: str, language: str) -> int:
    """In the caller's transaction (registration): the client's portal account."""
    email = email.strip().lower()
    check_password_strength(password, email=email)
    row = await current_connection().fetchrow(
        "INSERT INTO client_account (client, email, password_hash, language, failed_logins, created_at) "
        "VALUES ($1, $2, $3, $4, 0, now()) ON CONFLICT (email) DO NOTHING RETURNING id",
        client_id,
        email,
        hash_password(password),
        language,
    )
    if row is None:
        raise Conflict(
            N_("An account with this e-mail address exists already. Sign in, or reset your password.")
        )
    return row["id"]


async def send_link(actor: Actor, account_id: int, purpose: str) -> None:
    """In the caller's transaction: ask for the e-mail with a fresh link (the job makes the token, so no
    usable token is ever stored)."""
    await enqueue(
        actor,
        "identity.portal_link",
        subject_type="client_account",
        subject_id=account_id,
        account_id=account_id,
        purpose=purpose,
    )


async def _account(where: str, value) -> dict | None:
    rows = await fetch(f"{_ACCOUNT} WHERE {where}", value)  # noqa: S608 (fixed conditions)
    return dict(rows[0]) if rows else None


async def issue_token(account_id: int, purpose: str) -> str:
    token = secrets.token_urlsafe(32)
    async with transaction():
        await current_connection().execute(
            "INSERT INTO client_token (account, purpose, token_hash, created_at, expires_at) "
            "VALUES ($1, $2, $3, now(), $4)",
            account_id,
            purpose,
            session_token_hash(token),
            now() + LINK_LIFETIME[purpose],
        )
    return token


async def _consume(token: str, purpose: str) -> dict:
    """Use a link once: the account it was for, or BAD_LINK (unknown, used, expired, another purpose)."""
    row = await current_connection().fetchrow(
        "UPDATE client_token SET used_at = now() WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL "
        "AND expires_at > now() RETURNING account",
        session_token_hash(token or ""),
        purpose,
    )
    if row is None:
        raise ValidationFailed(BAD_LINK)
    return await _account("a.id = $1", row["account"])


async def verify_email(token: str, meta: RequestMeta) -> dict:
    async with transaction():
        account = await _consume(token, "verify")
        await current_connection().execute(
            "UPDATE client_account SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1",
            account["id"],
        )
        await record_audit(client_actor(account, meta), IdentityTag.PORTAL_VERIFY, **_about(account))
    return account


def _about(account: dict) -> dict:
    """What a portal audit row is about: the client."""
    return {
        "target_type": "client",
        "target_id": account["client"],
        "target_label": account["reference"],
        "entity_id": account["entity"],
        "client_id": account["client"],
    }


async def sign_in(email: str, password: str, meta: RequestMeta, settings: Settings) -> tuple[str, dict]:
    """Check the password and open a session; returns the cookie token and the account."""
    email = (email or "").strip().lower()
    if not email or not password:
        raise ValidationFailed(BAD_SIGN_IN)
    account = await _account("a.email = $1", email)
    if account and account["locked_until"] and account["locked_until"] > now():
        raise ValidationFailed(LOCKED)
    if not account or not verify_password(account["password_hash"], password):
        if account:
            await _failed(account, meta, settings)
        raise ValidationFailed(BAD_SIGN_IN)
    return await _open_session(account, meta, settings), account


async def start_session(account_id: int, meta: RequestMeta, settings: Settings) -> str:
    """A session for an account that has just proved itself (a registration, which set the password): no
    second password check."""
    return await _open_session(await _account("a.id = $1", account_id), meta, settings)


async def _open_session(account: dict, meta: RequestMeta, settings: Settings) -> str:
    token = secrets.token_urlsafe(32)
    async with transaction():
        conn = current_connection()
        await conn.execute(
            "UPDATE client_account SET failed_logins = 0, locked_until = NULL, last_login_at = now() "
            "WHERE id = $1",
            account["id"],
        )
        await conn.execute(
            "INSERT INTO client_session (token_hash, account, created_at, last_seen_at, expires_at, ip, "
            "user_agent) VALUES ($1, $2, now(), now(), $3, $4, $5)",
            session_token_hash(token),
            account["id"],
            now() + dt.timedelta(hours=settings.session_absolute_hours),
            meta.ip,
            (meta.user_agent or "")[:1000],
        )
        await record_audit(client_actor(account, meta), IdentityTag.PORTAL_SIGNIN, **_about(account))
    return token


async def _failed(account: dict, meta: RequestMeta, settings: Settings) -> None:
    async with transaction():
        attempts = await current_connection().fetchval(
            "UPDATE client_account SET failed_logins = failed_logins + 1 WHERE id = $1 "
            "RETURNING failed_logins",
            account["id"],
        )
        await record_audit(
            client_actor(account, meta),
            IdentityTag.PORTAL_SIGNIN_FAIL,
            **_about(account),
            after={"failed_logins": attempts},
        )
        if attempts >= settings.lockout_attempts:
            until = now() + dt.timedelta(minutes=settings.lockout_minutes)
            await current_connection().execute(
                "UPDATE client_account SET failed_logins = 0, locked_until = $2 WHERE id = $1",
                account["id"],
                until,
            )
            await record_audit(
                client_actor(account, meta),
                IdentityTag.PORTAL_LOCKOUT,
                **_about(account),
                after={"locked_until": until},
            )


async def load_session(token: str | None, settings: Settings) -> PortalSession | None:
    """The session behind the cookie, unless it ended or timed out (then it is ended)."""
    if not token:
        return None
    rows = await fetch(
        "SELECT s.id, s.last_seen_at, s.expires_at, a.id AS account_id, a.client, a.email, a.language, "
        "a.email_verified_at, c.reference, c.first_name, c.entity FROM client_session s "
        "JOIN client_account a ON a.id = s.account JOIN client c ON c.id = a.client "
        "WHERE s.token_hash = $1 AND s.ended_at IS NULL",
        session_token_hash(token),
    )
    if not rows:
        return None
    row, at = rows[0], now()
    idle = row["last_seen_at"] + dt.timedelta(minutes=settings.session_idle_minutes) <= at
    if row["expires_at"] <= at or idle:
        await fetch(
            "UPDATE client_session SET ended_at = now(), end_reason = $2 WHERE id = $1 AND ended_at IS NULL",
            row["id"],
            "idle_timeout" if idle else "absolute_timeout",
        )
        return None
    if at - row["last_seen_at"] > dt.timedelta(seconds=60):
        await fetch("UPDATE client_session SET last_seen_at = now() WHERE id = $1", row["id"])
    return PortalSession(
        row["id"],
        row["account_id"],
        row["client"],
        row["reference"],
        row["email"],
        row["first_name"],
        row["language"],
        row["email_verified_at"] is not None,
        row["entity"],
    )


async def sign_out(session: PortalSession) -> None:
    await fetch(
        "UPDATE client_session SET ended_at = now(), end_reason = 'signed_out' "
        "WHERE id = $1 AND ended_at IS NULL",
        session.id,
    )


async def request_reset(email: str, meta: RequestMeta) -> None:
    """Send a reset link if the address has an account; the answer is the same either way."""
    account = await _account("a.email = $1", (email or "").strip().lower())
    if account is None:
        return
    async with transaction():
        await send_link(client_actor(account, meta), account["id"], "reset")


async def reset_password(token: str, password: str, meta: RequestMeta) -> dict:
    async with transaction():
        account = await _consume(token, "reset")
        check_password_strength(password, email=account["email"])
        conn = current_connection()
        await conn.execute(
            "UPDATE client_account SET password_hash = $2, failed_logins = 0, locked_until = NULL, "
            "email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1",
            account["id"],
            hash_password(password),
        )  # the link came to the address: it is verified too
        await conn.execute(
            "UPDATE client_session SET ended_at = now(), end_reason = 'password_reset' "
            "WHERE account = $1 AND ended_at IS NULL",
            account["id"],
        )
        await record_audit(client_actor(account, meta), IdentityTag.PORTAL_PASSWORD_RESET, **_about(account))
    return account


async def set_language(session: PortalSession, language: str) -> None:
    await fetch("UPDATE client_account SET language = $2 WHERE id = $1", session.account_id, language)


@job("identity.portal_link", max_attempts=5, label="E-mail a client portal link")
async def mail_link(run: JobRun, account_id: int, purpose: str) -> dict:
    """Make a fresh single-use link and e-mail it in the client's language."""
    from crm.core.i18n import gettext
    from crm.core.mail import send_mail

    account = await _account("a.id = $1", account_id)
    if account is None:
        return {"skipped": "no account"}
    token = await issue_token(account_id, purpose)
    settings, lang = Settings.from_env(), account["language"]
    path = "verify" if purpose == "verify" else "reset"
    link = f"{settings.base_url.rstrip('/')}/portal/{path}/{token}"
    if purpose == "verify":
        subject = gettext(lang, "Confirm your e-mail address")
        body = gettext(
            lang,
            "Hello %(name)s,\n\nPlease confirm your e-mail address by opening this link (valid for 48 hours):"
            "\n%(link)s\n\nIf you did not register, ignore this message.",
            name=account["first_name"],
            link=link,
        )
    else:
        subject = gettext(lang, "Reset your password")
        body = gettext(
            lang,
            "Hello %(name)s,\n\nTo choose a new password, open this link (valid for one hour, once):"
            "\n%(link)s\n\nIf you did not ask for this, ignore this message: your password stays as it is.",
            name=account["first_name"],
            link=link,
        )
    await send_mail(account["email"], subject, body)
    return {"sent": purpose, "to_account": account_id}
