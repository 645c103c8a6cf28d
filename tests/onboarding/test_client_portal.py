"""The client portal: registration makes a client (and converts their lead, keeping its owner and partner),
records the consents, asks for screening and the verification e-mail (run by a real arq worker, sent over real
SMTP); sign-in locks out after five failures; reset links work once and expire; pages speak English, Spanish
and Arabic (right to left); and a client sees only their own data, whatever the URL says."""

import email
import email.policy
import re

from crm.core.audit.tables import AuditRecord
from crm.core.context import Actor
from crm.core.db import fetch
from crm.leads.intake import intake
from crm.settings import Settings
from tests.conftest import run_jobs
from tests.factories import make_entity, make_user
from tests.http import StaffClient, text_of
from tests.portals.routes import all_routes

PASSWORD = "a-long-client-passphrase-7"


def form(**changes) -> dict:
    return {
        "first_name": "Ana",
        "last_name": "Ruiz",
        "email": "ana.ruiz@example.com",
        "date_of_birth": "1990-04-12",
        "country": "MX",
        "password": PASSWORD,
        "marketing": "on",
    } | changes


async def register(http: StaffClient, **changes):
    return await http.post("/portal/register", form(**changes))


def link_in(messages: list, path: str) -> str:
    """The link to /portal/<path>/... in the latest e-mail that has one."""
    for _, raw in reversed(messages):
        body = email.message_from_string(raw, policy=email.policy.default).get_body(("plain",)).get_content()
        found = re.findall(rf"https?://\S+(/portal/{path}/[\w-]+)", body)
        if found:
            return found[0]
    raise AssertionError(f"no e-mail with a /portal/{path}/ link")


async def test_registration_makes_a_client_from_the_lead_and_sends_the_verification(app, smtp):
    owner = await make_user(roles={"INTL": ["sales_agent"]})
    entity = owner["entities"]["INTL"]
    lead = (
        await intake(
            Actor.system("test"),
            {
                "first_name": "Ana",
                "last_name": "Ruiz",
                "email": "Ana.Ruiz@example.com",
                "country": "MX",
                "phone": "+52 55 1234 5678",
                "ib_code": "IB-7",
            },
            channel="api",
            fallback_entity_id=entity,
        )
    ).lead
    await fetch("UPDATE lead SET owner_id = $2 WHERE id = $1", lead["id"], owner["id"])
    async with StaffClient(app) as http:
        done = await register(http)
        assert done.status_code == 303 and done.headers["location"] == "/portal"
        home = await http.get("/portal")
        assert "Hello Ana" in text_of(home) and "Confirm your e-mail address" in text_of(home)
        client = dict((await fetch("SELECT * FROM client WHERE lower(email) = 'ana.ruiz@example.com'"))[0])
        assert (
            client["lead_id"] == lead["id"] and client["owner"] == owner["id"] and client["ib_code"] == "IB-7"
        )
        assert client["entity"] == entity
        converted = (await fetch("SELECT status FROM lead WHERE id = $1", lead["id"]))[0]
        assert converted["status"] == "registered"
        kinds = {r["kind"] for r in await fetch("SELECT kind FROM consent WHERE client = $1", client["id"])}
        assert "marketing" in kinds
        assert await AuditRecord.exists().where(
            (AuditRecord.action == "clients:client:register") & (AuditRecord.client_id == client["id"])
        )
        await run_jobs(Settings.from_env())
        assert (await fetch("SELECT status FROM client_screening WHERE client = $1", client["id"]))[0][
            "status"
        ]
        verify = link_in(smtp.messages, "verify")
        assert "E-mail address confirmed" in text_of(await http.get(verify))
        assert "Link not valid" in text_of(await http.get(verify))  # once only
        again = await register(http, first_name="Anna")
        assert again.status_code == 409 and "exists already" in text_of(again)
    officer = await make_user(roles={"INTL": ["compliance_officer"]})
    async with StaffClient(app) as staff:  # the back office sees the lead they were and their portal account
        await staff.sign_in_as(officer)
        profile = text_of(await staff.get(f"/clients/{client['id']}"))
        assert (
            f"Was lead {lead['reference']}" in profile and "e-mail confirmed" in profile and "IB-7" in profile
        )


async def test_a_refused_registration_says_what_to_fix_in_the_clients_language(app):
    async with StaffClient(app) as http:
        refused = await http.post(
            "/portal/register?lang=es",
            form(email="not-an-address", date_of_birth="2015-01-01", password="short"),
        )
        page = text_of(refused)
        assert refused.status_code == 422
        assert "Introduzca una dirección de correo electrónico válida." in page
        assert "Debe tener 18 años o más" in page and 'value="Ana"' in refused.text  # nothing typed is lost
    async with StaffClient(app) as http:  # a browser asking for Arabic, with no choice made yet
        arabic = await http.get("/portal/register", headers={"accept-language": "ar,en;q=0.5"})
        assert 'dir="rtl"' in arabic.text and 'lang="ar"' in arabic.text and "فتح حساب" in text_of(arabic)


async def test_sign_in_locks_out_and_a_reset_link_works_once(app, smtp):
    await make_entity("INTL")
    async with StaffClient(app) as http:
        await register(http, email="lock@example.com")
        await http.post("/portal/logout", {})
        for _ in range(5):
            wrong = await http.post(
                "/portal/login", {"email": "lock@example.com", "password": "wrong-password!"}
            )
            assert wrong.status_code == 422
        locked = await http.post("/portal/login", {"email": "lock@example.com", "password": PASSWORD})
        assert "Too many failed attempts" in text_of(locked)
        assert await AuditRecord.exists().where(AuditRecord.action == "identity:portal:lockout")
        answer = await http.post("/portal/reset", {"email": "lock@example.com"})
        assert "Check your e-mail" in text_of(answer)
        assert "Check your e-mail" in text_of(
            await http.post("/portal/reset", {"email": "nobody@example.com"})
        )
        await run_jobs(Settings.from_env())
        reset = link_in(smtp.messages, "reset")
        weak = await http.post(reset, {"password": "short"})
        assert weak.status_code == 422 and "12 characters" in text_of(weak)
        done = await http.post(reset, {"password": "another-long-passphrase-8"})
        assert done.status_code == 303
        assert (await http.post(reset, {"password": "yet-another-passphrase-9"})).status_code == 422
        ok = await http.post(
            "/portal/login", {"email": "lock@example.com", "password": "another-long-passphrase-8"}
        )
        assert ok.status_code == 303
        await fetch("UPDATE client_token SET expires_at = now() - interval '1 minute'")
        assert (await http.post("/portal/reset", {"email": "lock@example.com"})).status_code == 200


async def test_a_client_sees_only_their_own_data_on_every_portal_route(app):
    await make_entity("INTL")
    async with StaffClient(app) as other:
        await register(other, first_name="Otto", last_name="Other", email="otto@example.com")
    otto = (await fetch("SELECT id, reference FROM client WHERE email = 'otto@example.com'"))[0]
    async with StaffClient(app) as http:
        await register(http)
        anonymous_home = await StaffClient(app).__aenter__()
        assert (await anonymous_home.get("/portal")).status_code == 303  # sign in first
        for method, path in all_routes(app, "/portal"):
            url = re.sub(r"\{(\w+):(?:int|str)\}", str(otto["id"]), path)
            response = await (http.get(url) if method == "GET" else http.post(url, {}))
            assert response.status_code < 500, (method, url)
            assert otto["reference"] not in response.text and "Otto" not in response.text, (method, url)


async def test_documents_are_checked_at_upload_kept_as_evidence_and_shown_to_reviewers(app):
    from crm.kyc.documents.samples import document_photo

    await make_entity("INTL")
    async with StaffClient(app) as http:
        await register(http)
        dark = await http.post(
            "/portal/documents?lang=es",
            {"kind": "passport"},
            files={"file": ("passport.jpg", document_photo(background=(8, 8, 8)), "image/jpeg")},
        )
        assert dark.status_code == 422 and "demasiado oscura" in text_of(dark)
        program = await http.post(
            "/portal/documents",
            {"kind": "passport"},
            files={"file": ("passport.jpg", b"MZ\x90\x00" + b"\x00" * 99)},
        )
        assert "es un programa" in text_of(program)  # the language chosen stays
        for kind in ("passport", "selfie"):
            sent = await http.post(
                "/portal/documents",
                {"kind": kind},
                files={"file": (f"{kind}.jpg", document_photo(exif=True))},
            )
            assert sent.status_code == 303, text_of(sent)
        listed = text_of(await http.get("/portal/documents?lang=en"))
        assert "Passport" in listed and "Selfie" in listed
        home = text_of(await http.get("/portal"))
        assert "Once your documents are in" not in home
    client = (await fetch("SELECT id FROM client WHERE email = 'ana.ruiz@example.com'"))[0]
    rows = await fetch("SELECT * FROM kyc_document WHERE client = $1 ORDER BY id", client["id"])
    assert [r["kind"] for r in rows] == ["passport", "selfie"] and rows[0]["received_sha256"] != rows[0][
        "stored_sha256"
    ]
    receipt = await AuditRecord.select().where(AuditRecord.action == "kyc:document:receive").first()
    assert receipt["client_id"] == client["id"] and rows[0]["received_sha256"] in str(receipt["after"])
    officer = await make_user(roles={"INTL": ["compliance_officer"]})
    outsider = await make_user(roles={"EU": ["compliance_officer"]})
    async with StaffClient(app) as staff:
        await staff.sign_in_as(officer)
        assert "Passport" in text_of(await staff.get(f"/kyc/screening/{client['id']}"))
        shown = await staff.get(f"/kyc/documents/{rows[0]['id']}")
        assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
        assert (
            shown.headers["x-content-type-options"] == "nosniff"
            and "sandbox" in shown.headers["content-security-policy"]
        )
        assert shown.headers["content-disposition"].startswith("inline")
        assert await AuditRecord.exists().where(AuditRecord.action == "kyc:document:view")
        await staff.sign_in_as(outsider)
        assert (await staff.get(f"/kyc/documents/{rows[0]['id']}")).status_code == 404


async def test_a_profile_change_is_audited_screened_again_and_re_reviewed(app):
    from crm.kyc import requirements
    from crm.kyc.documents.samples import document_photo
    from tests.kyc.test_requirements import publish

    await publish("INTL", requirements.STARTING_POINT)  # IR, KP and US restricted
    async with StaffClient(app) as http:
        await register(http)
        await http.post(
            "/portal/documents", {"kind": "passport"}, files={"file": ("p.jpg", document_photo())}
        )
        page = await http.get("/portal/profile")
        assert 'value="Ana"' in page.text
        change = {"first_name": "Ana", "last_name": "Ruiz", "date_of_birth": "1990-04-12", "language": "es"}
        refused = await http.post("/portal/profile", change | {"country": "US"})
        assert refused.status_code == 422 and "residents of this country" in text_of(refused)
        saved = await http.post("/portal/profile", change | {"country": "ES", "last_name": "Ruiz Gómez"})
        assert saved.status_code == 303
        assert "Hola, Ana" in text_of(await http.get("/portal"))  # the language chosen in the profile
    client = dict((await fetch("SELECT * FROM client WHERE email = 'ana.ruiz@example.com'"))[0])
    assert client["country"] == "ES" and client["last_name"] == "Ruiz Gómez" and client["language"] == "es"
    change_row = await AuditRecord.select().where(AuditRecord.action == "clients:profile:change").first()
    assert "Ruiz Gómez" in change_row["after"] and "MX" in change_row["before"]
    case = await fetch("SELECT title FROM work_case WHERE kind = 'kyc.rereview'")
    assert case and "changed last_name, country" in case[0]["title"]
    jobs = await fetch("SELECT payload FROM domain_event WHERE name = 'job.requested'")
    assert (
        sum('"kyc.screen_client"' in r["payload"] for r in jobs) == 2
    )  # at registration and after the change
