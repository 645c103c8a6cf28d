"""Single sign-on against a local OpenID Connect provider started by the test (the built-in sandbox)."""

import dataclasses
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from crm.app import create_app
from crm.core.audit.tables import AuditRecord
from crm.core.org.tables import StaffUser
from tests.factories import make_user
from tests.http import StaffClient, free_port, text_of, wait_until_serving


def start_provider(claims: str = "id_token"):
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crm.integrations.oidc.sandbox",
            "--port",
            str(port),
            "--client-id",
            "crm-test",
            "--client-secret",
            "s3cret",
            "--claims",
            claims,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    issuer = f"http://127.0.0.1:{port}"
    wait_until_serving(f"{issuer}/.well-known/openid-configuration", proc)
    return issuer, proc


@pytest.fixture(scope="module", params=["id_token", "userinfo"])
def provider(request):
    """Each test runs against a provider that puts the e-mail in the ID token, and against one that gives
    it from UserInfo only (OpenID Connect Core 5.4, the default of certified providers such as
    node oidc-provider)."""
    issuer, proc = start_provider(request.param)
    yield issuer
    proc.terminate()
    proc.wait(timeout=10)


def app_for(settings, issuer: str):
    return create_app(
        dataclasses.replace(
            settings,
            oidc_issuer=issuer,
            oidc_client_id="crm-test",
            oidc_client_secret="s3cret",
            base_url="https://testserver",
        )
    )


@pytest.fixture
def sso_app(settings, provider):
    return app_for(settings, provider)


async def sign_in_at_provider(client: StaffClient, email: str, mfa: bool, next_url: str = "/clients"):
    start = await client.get(f"/sso/login?next={next_url}")
    assert start.status_code == 303
    authorize_url = start.headers["location"]
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
    assert query["code_challenge_method"] == "S256" and query["nonce"] and query["state"]
    async with httpx.AsyncClient() as browser_at_idp:
        form_page = await browser_at_idp.get(authorize_url)
        assert form_page.status_code == 200 and "Sandbox identity provider" in form_page.text
        fields = {
            k: query.get(k, "")
            for k in (
                "client_id",
                "redirect_uri",
                "state",
                "nonce",
                "code_challenge",
                "code_challenge_method",
            )
        }
        back = await browser_at_idp.post(
            authorize_url.split("?")[0], data={**fields, "email": email, **({"mfa": "1"} if mfa else {})}
        )
    assert back.status_code == 303
    callback = urlsplit(back.headers["location"])
    return await client.get(f"{callback.path}?{callback.query}")


async def test_sso_with_provider_mfa_signs_in_and_links_the_account(sso_app):
    user = await make_user("sso.user@test.example", roles={"EU": ["support_agent"]})
    async with StaffClient(sso_app) as client:
        response = await sign_in_at_provider(client, user["email"], mfa=True)
        assert response.status_code == 303 and response.headers["location"] == "/clients"
        assert (await client.get("/clients")).status_code == 200
    row = await StaffUser.select(StaffUser.sso_subject).where(StaffUser.id == user["id"]).first()
    assert row["sso_subject"].startswith("http://127.0.0.1:")
    actions = [r["action"] for r in await AuditRecord.select(AuditRecord.action).order_by(AuditRecord.seq)]
    assert actions[-2:] == ["identity:sso:link", "identity:signin:success"]


async def test_sso_without_provider_mfa_still_needs_our_totp(sso_app):
    import pyotp

    user = await make_user("sso.nomfa@test.example", roles={"EU": ["support_agent"]})
    async with StaffClient(sso_app) as client:
        response = await sign_in_at_provider(client, user["email"], mfa=False)
        assert response.headers["location"].startswith("/mfa?")
        assert (await client.get("/clients")).status_code == 303  # not signed in yet
        done = await client.post("/mfa", {"code": pyotp.TOTP(user["totp_secret"]).now(), "next": "/clients"})
        assert done.status_code == 303 and (await client.get("/clients")).status_code == 200
    success = await AuditRecord.select().where(AuditRecord.action == "identity:signin:success").first()
    assert success["after"] and "oidc+totp" in str(success["after"])


async def test_sso_for_an_unknown_person_is_refused_and_audited(sso_app):
    async with StaffClient(sso_app) as client:
        response = await sign_in_at_provider(client, "stranger@test.example", mfa=True)
        assert response.status_code == 401 and "no active staff account" in text_of(response)
    assert await AuditRecord.exists().where(AuditRecord.action == "identity:signin:fail")


async def test_sso_user_without_assignments_can_do_nothing(sso_app):
    await make_user("sso.none@test.example", roles={"EU": []})
    async with StaffClient(sso_app) as client:
        await sign_in_at_provider(client, "sso.none@test.example", mfa=True)
        assert (await client.get("/")).status_code == 200
        assert (await client.get("/clients")).status_code == 403


async def test_a_forged_or_replayed_callback_is_refused(sso_app):
    user = await make_user("sso.replay@test.example", roles={"EU": ["support_agent"]})
    async with StaffClient(sso_app) as client:
        start = await client.get("/sso/login")
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        forged = await client.get(f"/sso/callback?code=made-up&state={state}")
        assert forged.status_code == 401 and "refused" in text_of(forged)
        wrong_state = await client.get("/sso/callback?code=x&state=other")
        assert wrong_state.status_code == 401
    async with StaffClient(sso_app) as client:
        ok = await sign_in_at_provider(client, user["email"], mfa=True)
        assert ok.status_code == 303


async def test_userinfo_about_another_subject_is_refused(settings):
    issuer, proc = start_provider("userinfo-other-sub")
    try:
        user = await make_user("sso.other@test.example", roles={"EU": ["support_agent"]})
        async with StaffClient(app_for(settings, issuer)) as client:
            response = await sign_in_at_provider(client, user["email"], mfa=True)
            assert response.status_code == 401 and "UserInfo is about another subject" in text_of(response)
            assert (await client.get("/clients")).status_code == 303
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def test_the_sandbox_provider_answers_loopback_only_and_is_announced(app, settings):
    sandbox = create_app(dataclasses.replace(settings, oidc_issuer="sandbox", oidc_client_id="crm"))
    discovery = "/sandbox/oidc/.well-known/openid-configuration"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox, client=("203.0.113.9", 5000)),
        base_url="https://testserver",
    ) as remote:
        assert (await remote.get(discovery)).status_code == 401
    async with StaffClient(sandbox) as local:
        assert (await local.get(discovery)).status_code == 200
        login = await local.get("/login")
        assert "signs anyone in as any staff user" in text_of(login)


def test_production_refuses_sandboxes_and_weak_secrets(settings):
    weak = dataclasses.replace(settings, env="production", oidc_issuer="sandbox", secret_key="short")
    with pytest.raises(SystemExit) as refused:
        create_app(weak)
    message = str(refused.value)
    assert "CRM_SECRET_KEY" in message and "CRM_OIDC_ISSUER=sandbox" in message
    strong = dataclasses.replace(
        settings,
        env="production",
        secret_key="k" * 40,
        oidc_issuer="",
        mail_sandbox_dir="",
        audit_signing_key=settings.audit_signing_key or "x",
    )
    assert strong.production_problems() == []
    create_app(strong)


async def test_csrf_exemptions_match_exact_routes_only(app):
    from tests.http import StaffClient as Client

    user = await make_user(roles={"EU": ["sales_team_lead"]})
    async with Client(app) as client:
        await client.sign_in_as(user)
        sneaky = await client.http.post("/leads/LD-000001/merge/healthzx", data={"reason": "x"})
        assert sneaky.status_code == 403 and "expired" in text_of(sneaky)
        sneaky = await client.http.post("/leads/LD-000001/merge/webhooks", data={"reason": "x"})
        assert sneaky.status_code == 403
