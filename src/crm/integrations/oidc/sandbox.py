"""A small OpenID Connect provider for the demo and the tests: discovery, authorize, token (PKCE), JWKS.

It signs RS256 ID tokens with a key made at start-up and lets anyone "sign in" by typing an email, optionally
saying they used MFA (the `amr` claim). Mounted at /sandbox/oidc when CRM_OIDC_ISSUER=sandbox, or run alone:
`python -m crm.integrations.oidc.sandbox --port 9000 --client-id crm --client-secret secret`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import time
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from litestar import Litestar, Request, Response, Router, get, post
from litestar.connection import ASGIConnection
from litestar.enums import MediaType
from litestar.exceptions import NotAuthorizedException
from markupsafe import escape

_KEY = RSAKey.generate_key(2048, parameters={"kid": "sandbox-1", "use": "sig", "alg": "RS256"})
_codes: dict[str, dict] = {}
_access: dict[str, dict] = {}  # access token -> the grant (for UserInfo)
CODE_TTL = 120
# Where the scope claims (email ...) go: "id_token" (and UserInfo), or "userinfo" only, as OpenID Connect Core
# 5.4 lets a provider do when it issues an access token; "userinfo-other-sub" answers UserInfo for another
# subject (a provider a client must not trust). Set with --claims or CRM_OIDC_SANDBOX_CLAIMS.
CLAIM_MODES = ("id_token", "userinfo", "userinfo-other-sub")


def _claims_mode() -> str:
    mode = os.environ.get("CRM_OIDC_SANDBOX_CLAIMS", "id_token")
    return mode if mode in CLAIM_MODES else "id_token"


def _subject(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:24]


def _client_credentials() -> tuple[str, str]:
    return (
        os.environ.get("CRM_OIDC_CLIENT_ID", "crm"),
        os.environ.get("CRM_OIDC_CLIENT_SECRET", "crm-sandbox-secret"),
    )


def _issuer(request: Request) -> str:
    """This provider's issuer URL: the request's origin plus the path the router is mounted at."""
    path = request.url.path
    for suffix in ("/.well-known/openid-configuration", "/authorize", "/token", "/jwks", "/userinfo"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return f"{request.url.scheme}://{request.url.netloc}{path}"


@get("/.well-known/openid-configuration", sync_to_thread=False)
def discovery(request: Request) -> dict:
    issuer = _issuer(request)
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }


@get("/jwks", sync_to_thread=False)
def jwks() -> dict:
    return {"keys": [_KEY.as_dict(private=False)]}


_FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sandbox identity provider</title>
<style>body{{font-family:system-ui;max-width:28rem;margin:4rem auto}}
input,button{{font:inherit;padding:.4rem}}</style></head>
<body><p role="alert" style="background:#fef3c7;border:1px solid #b45309;padding:.6rem">
<strong>Sandbox: not for real use.</strong> Anyone who reaches this page can sign in as any staff user.
It answers on this computer only (loopback) and refuses to start with CRM_ENV=production.</p>
<h1>Sandbox identity provider</h1><p>Demo and test only: type the email of a staff user.</p>
<form method="post" action="{action}">{hidden}
<p><label for="email">Email</label><br>
<input id="email" name="email" type="email" value="{hint}" required></p>
<p><label><input type="checkbox" name="mfa" value="1" checked>
I completed multi-factor authentication here</label></p>
<button type="submit">Sign in</button></form></body></html>"""

_PASSED = ("client_id", "redirect_uri", "state", "nonce", "code_challenge", "code_challenge_method")


@get("/authorize", sync_to_thread=False)
def authorize_form(request: Request) -> Response:
    params = dict(request.query_params)
    if params.get("client_id") != _client_credentials()[0] or params.get("response_type") != "code":
        return Response("unknown client or response type", status_code=400)
    hidden = "".join(f'<input type="hidden" name="{k}" value="{escape(params.get(k, ""))}">' for k in _PASSED)
    html = _FORM.format(
        action=escape(request.url.path), hidden=hidden, hint=escape(params.get("login_hint", ""))
    )
    return Response(html, media_type=MediaType.HTML)


@post("/authorize", status_code=303)
async def authorize(request: Request) -> Response:
    form = dict(await request.form())
    if form.get("client_id") != _client_credentials()[0] or not form.get("redirect_uri"):
        return Response("unknown client", status_code=400)
    code = secrets.token_urlsafe(24)
    _codes[code] = {
        **{k: form.get(k, "") for k in _PASSED},
        "email": form.get("email", "").strip().lower(),
        "amr": ["pwd", "mfa"] if form.get("mfa") else ["pwd"],
        "expires": time.time() + CODE_TTL,
    }
    target = f"{form['redirect_uri']}?{urlencode({'code': code, 'state': form.get('state', '')})}"
    return Response("", status_code=303, headers={"Location": target})


def _client_from(request: Request, form: dict) -> tuple[str, str]:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")


@post("/token", status_code=200)
async def token(request: Request) -> Response:
    form = dict(await request.form())
    if _client_from(request, form) != _client_credentials():
        return Response({"error": "invalid_client"}, status_code=401)
    grant = _codes.pop(form.get("code", ""), None)  # single use
    if grant is None or grant["expires"] < time.time() or grant["redirect_uri"] != form.get("redirect_uri"):
        return Response({"error": "invalid_grant"}, status_code=400)
    challenge = base64.urlsafe_b64encode(
        hashlib.sha256(form.get("code_verifier", "").encode()).digest()
    ).rstrip(b"=")
    if grant["code_challenge"] and challenge.decode() != grant["code_challenge"]:
        return Response({"error": "invalid_grant", "error_description": "PKCE check failed"}, status_code=400)
    now = int(time.time())
    claims = {
        "iss": _issuer(request),
        "aud": grant["client_id"],
        "sub": _subject(grant["email"]),
        "nonce": grant["nonce"],
        "amr": grant["amr"],
        "iat": now,
        "exp": now + 300,
    }
    if _claims_mode() == "id_token":
        claims |= {"email": grant["email"], "email_verified": True}
    id_token = jwt.encode({"alg": "RS256", "kid": "sandbox-1"}, claims, _KEY)
    access_token = secrets.token_urlsafe(24)
    _access[access_token] = {**grant, "expires": time.time() + 300}
    return Response(
        {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }
    )


LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def loopback_only(connection: ASGIConnection, _handler) -> None:
    """The sandbox signs anyone in as anyone: it answers requests from this machine only."""
    host = connection.client.host if connection.client else ""
    if host not in LOOPBACK:
        raise NotAuthorizedException("The sandbox identity provider answers on this computer only.")


@get("/userinfo", sync_to_thread=False)
def userinfo(request: Request) -> Response:
    """The scope claims of the access token's subject (OpenID Connect Core 5.3)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    grant = _access.get(value) if scheme.lower() == "bearer" else None
    if grant is None or grant["expires"] < time.time():
        return Response({"error": "invalid_token"}, status_code=401)
    subject = _subject(grant["email"])
    if _claims_mode() == "userinfo-other-sub":
        subject = _subject("someone-else@" + grant["email"])
    return Response({"sub": subject, "email": grant["email"], "email_verified": True})


def sandbox_router(path: str = "/sandbox/oidc") -> Router:
    return Router(
        path=path,
        route_handlers=[discovery, jwks, authorize_form, authorize, token, userinfo],
        include_in_schema=False,
        guards=[loopback_only],
    )


def create_sandbox_app() -> Litestar:
    return Litestar(route_handlers=[sandbox_router("/")], openapi_config=None)


if __name__ == "__main__":
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--client-id", default="crm")
    parser.add_argument("--client-secret", default="crm-sandbox-secret")
    parser.add_argument("--claims", choices=CLAIM_MODES, default="id_token")
    args = parser.parse_args()
    os.environ["CRM_OIDC_SANDBOX_CLAIMS"] = args.claims
    os.environ["CRM_OIDC_CLIENT_ID"], os.environ["CRM_OIDC_CLIENT_SECRET"] = (
        args.client_id,
        args.client_secret,
    )
    uvicorn.run(create_sandbox_app(), host="127.0.0.1", port=args.port, log_level="warning")
