"""Staff sign-in over HTTP: password, mandatory MFA enrolment, lockout, recovery codes, timeouts, CSRF."""

import datetime as dt
import re

import pyotp

from crm.core.audit.tables import AuditRecord
from crm.core.org.tables import StaffUser
from crm.identity.tables import StaffSession
from tests.factories import PASSWORD, make_user
from tests.http import StaffClient, text_of


async def actions() -> list[str]:
    return [r["action"] for r in await AuditRecord.select(AuditRecord.action).order_by(AuditRecord.seq)]


async def password_step(client: StaffClient, email: str, password: str = PASSWORD):
    return await client.post("/login", {"email": email, "password": password, "next": "/clients"})


async def test_first_sign_in_enrols_mfa_and_renews_the_session(app):
    user = await make_user(roles={"EU": ["support_agent"]}, enrolled=False)
    async with StaffClient(app) as client:
        response = await password_step(client, user["email"])
        assert response.status_code == 303 and response.headers["location"].startswith("/mfa/enrol")
        pending_token = client.http.cookies.get("crm_session")
        # A pending session reaches nothing but the MFA pages.
        assert (await client.get("/clients")).status_code == 303
        page = await client.get("/mfa/enrol")
        assert "<svg" in page.text
        secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page.text).group(1)
        wrong = await client.post("/mfa/enrol", {"code": "000000"})
        assert wrong.status_code == 422 and "not valid" in text_of(wrong)
        done = await client.post("/mfa/enrol", {"code": pyotp.TOTP(secret).now(), "next": "/clients"})
        assert done.status_code == 200
        codes = re.findall(r"<code>([0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4})</code>", done.text)
        assert len(codes) == 10
        assert client.http.cookies.get("crm_session") != pending_token
        assert (await client.get("/clients")).status_code == 200
    assert await StaffSession.count().where(StaffSession.end_reason == "renewed") == 1
    assert (await actions())[-2:] == ["identity:mfa:enrol", "identity:signin:success"]


async def test_sign_in_with_totp_then_recovery_code_once(app):
    user = await make_user(roles={"EU": ["support_agent"]})
    async with StaffClient(app) as client:
        assert (await password_step(client, user["email"])).headers["location"].startswith("/mfa")
        first_code = pyotp.TOTP(user["totp_secret"]).now()
        ok = await client.post("/mfa", {"code": first_code, "next": "/clients"})
        assert ok.status_code == 303 and ok.headers["location"] == "/clients"
        assert (await client.get("/")).status_code == 200
    # The same code again, within its window, is refused: a code works once (an observed code is no key).
    async with StaffClient(app) as client:
        await password_step(client, user["email"])
        again = await client.post("/mfa", {"code": first_code})
        assert again.status_code == 422 and "not valid" in text_of(again)
    # Recovery codes: enrol fresh codes through the service, then use one twice.
    from crm.identity.credentials import new_recovery_codes, recovery_code_hash
    from crm.identity.tables import RecoveryCode

    code = new_recovery_codes(1)[0]
    await RecoveryCode.insert(RecoveryCode(user=user["id"], code_hash=recovery_code_hash(code)))
    for attempt, expected in ((1, 303), (2, 422)):
        async with StaffClient(app) as client:
            await password_step(client, user["email"])
            response = await client.post("/mfa", {"code": code})
            assert response.status_code == expected, attempt


async def test_five_failures_lock_the_account_for_fifteen_minutes(app):
    user = await make_user(roles={"EU": ["support_agent"]})
    async with StaffClient(app) as client:
        for _ in range(5):
            response = await password_step(client, user["email"], "wrong-password-123")
            assert response.status_code == 422 and "incorrect" in text_of(response)
        locked = await password_step(client, user["email"])  # even the right password
        assert locked.status_code == 423 and "Try again in 15 minutes" in text_of(locked)
    row = await StaffUser.select(StaffUser.locked_until).where(StaffUser.id == user["id"]).first()
    assert (
        dt.timedelta(minutes=14) < row["locked_until"] - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=15)
    )
    audit = await AuditRecord.select().where(AuditRecord.action == "identity:signin:fail")
    assert len(audit) == 5 and audit[0]["ip"] and audit[0]["user_agent"]
    assert "identity:account:lockout" in await actions()


async def test_unknown_email_gets_the_same_answer_and_is_audited(app):
    async with StaffClient(app) as client:
        response = await password_step(client, "nobody@test.example", "whatever-123456")
    assert response.status_code == 422 and "Email or password is incorrect" in text_of(response)
    row = await AuditRecord.select().where(AuditRecord.action == "identity:signin:fail").first()
    assert row["actor_id"] is None and "nobody@test.example" in row["actor_label"]


async def test_idle_and_absolute_timeouts_end_the_session_with_a_reason(app):
    user = await make_user(roles={"EU": ["support_agent"]})
    async with StaffClient(app) as client:
        await client.sign_in_as(user)
        assert (await client.get("/")).status_code == 200
        await StaffSession.update(
            {StaffSession.last_seen_at: dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)}
        ).where(StaffSession.user == user["id"])
        response = await client.get("/")
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        login = await client.get("/login")
        assert "without activity" not in text_of(login)  # the message belongs to the request that found it
    session = await StaffSession.select().where(StaffSession.user == user["id"]).first()
    assert session["end_reason"] == "idle_timeout"
    assert "identity:session:expire" in await actions()
    async with StaffClient(app) as client:
        await client.sign_in_as(user)
        await StaffSession.update({StaffSession.expires_at: dt.datetime.now(dt.UTC)}).where(
            (StaffSession.user == user["id"]) & StaffSession.ended_at.is_null()
        )
        assert (await client.get("/")).status_code == 303


async def test_session_sweep_job_expires_abandoned_sessions(settings):
    from crm.identity.sessions import sweep_expired_sessions

    user = await make_user(roles={"EU": ["support_agent"]})
    from tests.factories import make_session

    await make_session(user)
    await StaffSession.update(
        {StaffSession.last_seen_at: dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)}
    ).where(StaffSession.user == user["id"])
    assert await sweep_expired_sessions(settings) == 1
    assert await sweep_expired_sessions(settings) == 0  # idempotent


async def test_cookies_are_secure_httponly_and_csrf_is_enforced(app):
    user = await make_user(roles={"EU": ["support_agent"]})
    async with StaffClient(app) as client:
        await client.get("/login")
        response = await client.http.post("/login", data={"email": user["email"], "password": PASSWORD})
        assert response.status_code == 403 and "expired" in text_of(response)
        ok = await password_step(client, user["email"])
        cookie = ok.headers["set-cookie"].lower()
        assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie


async def test_logout_ends_the_session(app):
    user = await make_user(roles={"EU": ["support_agent"]})
    async with StaffClient(app) as client:
        await client.sign_in_as(user)
        assert (await client.post("/logout")).status_code == 303
        assert (await client.get("/")).status_code == 303
    assert "identity:session:signout" in await actions()


async def test_forced_password_change_blocks_everything_else(app):
    user = await make_user(roles={"EU": ["support_agent"]}, must_change_password=True)
    async with StaffClient(app) as client:
        await client.sign_in_as(user)
        blocked = await client.get("/clients")
        assert blocked.status_code == 303 and blocked.headers["location"] == "/account/password"
        weak = await client.post(
            "/account/password", {"current": PASSWORD, "password": "short", "confirm": "short"}
        )
        assert weak.status_code == 422 and "12 characters" in text_of(weak)
        new = "a-much-better-passphrase-7"
        ok = await client.post("/account/password", {"current": PASSWORD, "password": new, "confirm": new})
        assert ok.status_code == 303
        assert (await client.get("/clients")).status_code == 200
    assert "identity:password:change" in await actions()


async def test_open_redirect_after_sign_in_is_refused(app):
    user = await make_user(roles={"EU": ["support_agent"]})
    async with StaffClient(app) as client:
        await client.post(
            "/login", {"email": user["email"], "password": PASSWORD, "next": "//evil.example/x"}
        )
        response = await client.post(
            "/mfa", {"code": pyotp.TOTP(user["totp_secret"]).now(), "next": "https://evil.example"}
        )
        assert response.headers["location"] == "/"
