"""Single sign-on: turning verified OpenID Connect claims into a staff session.

An identity provider proves who the person is; it grants nothing. The user must already exist here and acts
only through their role assignments. If the provider says it did multi-factor authentication (`amr`), the
session is complete; otherwise the user still passes our own TOTP step.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from crm.core.audit.service import record_audit
from crm.core.context import Actor, RequestMeta
from crm.core.db import transaction
from crm.core.org.tables import StaffUser
from crm.identity import service
from crm.identity.tags import IdentityTag
from crm.integrations.oidc.client import OidcConfig, SsoFailed, authorization_request, exchange_code
from crm.settings import Settings

MFA_METHODS = {"mfa", "otp", "hwk", "swk", "sms", "fpt", "face"}
STATE_MAX_AGE = 600


def pack_state(data: dict, secret: str) -> str:
    """A tamper-proof cookie value (HMAC-SHA256) carrying state, nonce and PKCE verifier to the callback."""
    body = base64.urlsafe_b64encode(json.dumps({**data, "t": int(time.time())}).encode()).decode()
    mac = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def unpack_state(value: str | None, secret: str) -> dict:
    if not value or "." not in value:
        raise SsoFailed("The sign-in took too long or was started elsewhere. Please try again.")
    body, mac = value.rsplit(".", 1)
    if not hmac.compare_digest(mac, hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()):
        raise SsoFailed("The sign-in could not be verified. Please try again.")
    data = json.loads(base64.urlsafe_b64decode(body))
    if data["t"] + STATE_MAX_AGE < time.time():
        raise SsoFailed("The sign-in took too long. Please try again.")
    return data


async def _find_user(issuer: str, claims: dict, meta: RequestMeta) -> dict | None:
    subject = f"{issuer}#{claims['sub']}"[:255]
    user = await StaffUser.select().where(StaffUser.sso_subject == subject).first()
    email = str(claims.get("email", "")).strip().lower()
    if user is None and email and claims.get("email_verified"):
        user = (
            await StaffUser.select()
            .where((StaffUser.email == email) & StaffUser.sso_subject.is_null())
            .first()
        )
        if user is not None:
            async with transaction():
                await StaffUser.update({StaffUser.sso_subject: subject}).where(StaffUser.id == user["id"])
                await record_audit(
                    service.user_actor(user, meta),
                    IdentityTag.SSO_LINK,
                    target_type="staff_user",
                    target_id=user["id"],
                    target_label=email,
                    entity_id=user["home_entity"],
                    after={"issuer": issuer, "subject": claims["sub"]},
                )
    return user


async def sign_in_with_oidc(claims: dict, meta: RequestMeta, settings: Settings) -> service.SignIn:
    """Open a session for the staff user the claims name; refuse unknown or deactivated accounts."""
    issuer = settings.oidc_issuer_url
    user = await _find_user(issuer, claims, meta)
    if user is None or not user["active"]:
        async with transaction():
            label = str(claims.get("email") or claims.get("sub"))[:150]
            await record_audit(
                Actor(user_id=user["id"] if user else None, label=f"sso <{label}>", meta=meta),
                IdentityTag.SIGNIN_FAIL,
                target_type="staff_user",
                target_label=label,
                after={"step": "sso", "issuer": issuer},
            )
        raise SsoFailed("There is no active staff account for this identity. Ask an administrator.")
    service.raise_if_locked(user)
    idp_mfa = bool(MFA_METHODS & set(claims.get("amr") or []))
    async with transaction():
        token = await service.open_session(user["id"], meta, verified=idp_mfa, settings=settings, sso=True)
        if idp_mfa:
            await StaffUser.update({StaffUser.last_signin_at: service.now()}).where(
                StaffUser.id == user["id"]
            )
            await record_audit(
                service.user_actor(user, meta),
                IdentityTag.SIGNIN_SUCCESS,
                target_type="staff_user",
                target_id=user["id"],
                target_label=user["email"],
                entity_id=user["home_entity"],
                after={"method": "oidc+idp_mfa", "issuer": issuer, "amr": claims.get("amr")},
            )
    if idp_mfa:
        return service.SignIn(token, "done")
    return service.SignIn(token, "mfa" if user["mfa_enrolled_at"] else "enrol")


def _config(settings: Settings) -> OidcConfig:
    return OidcConfig(
        settings.oidc_issuer_url,
        settings.oidc_client_id,
        settings.oidc_client_secret,
        f"{settings.base_url.rstrip('/')}/sso/callback",
    )


async def begin(settings: Settings, next_url: str) -> tuple[str, str]:
    """Start a sign-in at the provider: its authorization URL, and the signed cookie value carrying state,
    nonce, PKCE verifier and where to go afterwards to the callback."""
    auth = await authorization_request(_config(settings))
    cookie = pack_state(
        {"state": auth.state, "nonce": auth.nonce, "verifier": auth.code_verifier, "next": next_url},
        settings.secret_key,
    )
    return auth.url, cookie


async def complete(
    settings: Settings, *, code: str, state: str, error: str, cookie: str | None, meta: RequestMeta
) -> tuple[service.SignIn, str]:
    """Finish a sign-in at the callback: check the state against the cookie, exchange the code, verify the ID
    token and open the session. Returns the sign-in and where the user was going."""
    saved = unpack_state(cookie, settings.secret_key)
    if error or not code or state != saved["state"]:
        raise SsoFailed("The identity provider did not complete the sign-in. Please try again.")
    claims = await exchange_code(_config(settings), code, saved["nonce"], saved["verifier"])
    return await sign_in_with_oidc(claims, meta, settings), saved["next"]
