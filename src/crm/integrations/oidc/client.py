"""The relying-party side: discovery, the authorization URL, code exchange and ID-token validation."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from crm.core.errors import DomainError

_DISCOVERY_TTL = 3600
_discovery_cache: dict[str, tuple[float, dict]] = {}


class SsoFailed(DomainError):
    status_code = 401


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


async def discover(issuer: str) -> dict:
    """The provider's metadata (cached for an hour)."""
    cached = _discovery_cache.get(issuer)
    if cached and cached[0] > time.monotonic():
        return cached[1]
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(issuer.rstrip("/") + "/.well-known/openid-configuration")
    if response.status_code != 200:
        raise SsoFailed("The single sign-on provider is not reachable")
    metadata = response.json()
    if metadata.get("issuer") != issuer:
        raise SsoFailed("The single sign-on provider answered with a different issuer")
    _discovery_cache[issuer] = (time.monotonic() + _DISCOVERY_TTL, metadata)
    return metadata


def _client(config: OidcConfig) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=config.client_id,
        client_secret=config.client_secret,
        scope="openid email profile",
        redirect_uri=config.redirect_uri,
        code_challenge_method="S256",
        timeout=10,
    )


async def authorization_request(config: OidcConfig, login_hint: str | None = None) -> AuthorizationRequest:
    """Where to send the browser, with fresh state, nonce and PKCE verifier to keep until the callback."""
    metadata = await discover(config.issuer)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(48)
    extra = {"login_hint": login_hint} if login_hint else {}
    async with _client(config) as client:
        url, _ = client.create_authorization_url(
            metadata["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier, **extra
        )
    return AuthorizationRequest(url=url, state=state, nonce=nonce, code_verifier=verifier)


async def exchange_code(config: OidcConfig, code: str, nonce: str, code_verifier: str) -> dict:
    """Trade the code for tokens and return the validated ID-token claims (iss, aud, exp, nonce checked)."""
    metadata = await discover(config.issuer)
    try:
        async with _client(config) as client:
            token = await client.fetch_token(
                metadata["token_endpoint"], code=code, code_verifier=code_verifier
            )
        async with httpx.AsyncClient(timeout=10) as http:
            keys = KeySet.import_key_set((await http.get(metadata["jwks_uri"])).json())
        decoded = jwt.decode(token["id_token"], keys, algorithms=["RS256", "ES256"])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": config.issuer},
            aud={"essential": True, "value": config.client_id},
            sub={"essential": True},
            exp={"essential": True},
            nonce={"essential": True, "value": nonce},
        ).validate(decoded.claims)
        claims = dict(decoded.claims)
        if "email" not in claims:  # OpenID Connect Core 5.4: scope claims may come from UserInfo only
            claims |= await _userinfo(metadata, token["access_token"], claims["sub"])
    except (JoseError, KeyError, ValueError, httpx.HTTPError) as exc:
        raise SsoFailed("The single sign-on response could not be verified") from exc
    except Exception as exc:  # authlib raises its own OAuth errors for a refused code
        if exc.__class__.__module__.startswith("authlib"):
            raise SsoFailed("The single sign-on provider refused the sign-in") from exc
        raise
    return claims


USERINFO_CLAIMS = ("email", "email_verified", "name", "given_name", "family_name", "preferred_username")


async def _userinfo(metadata: dict, access_token: str, subject: str) -> dict:
    """The scope claims from the UserInfo endpoint, for the ID token's subject only (Core 5.3.2: the `sub`
    must match, or the answer is about someone else and is refused)."""
    endpoint = metadata.get("userinfo_endpoint")
    if not endpoint:
        return {}
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(endpoint, headers={"Authorization": f"Bearer {access_token}"})
    if response.status_code != 200:
        raise SsoFailed("The single sign-on provider did not say who signed in (UserInfo refused)")
    info = response.json()
    if not isinstance(info, dict) or info.get("sub") != subject:
        raise SsoFailed("The single sign-on provider's UserInfo is about another subject")
    return {k: info[k] for k in USERINFO_CLAIMS if k in info}
