"""The client's KYC timeline holds every step in order (registration with the requirements version and
consents, e-mail confirmation, documents with hashes, screening hits, the decision and the second approver),
each with its place in the hash chain; the CSV carries the same rows; other entities see nothing."""

import io

from pypdf import PdfReader

from crm.core.approvals import service as approvals
from crm.core.approvals.tables import ApprovalRequest
from crm.core.context import Actor
from crm.core.db import fetch
from crm.kyc.documents.samples import document_photo
from crm.kyc.screening import clients, decisions, service
from tests.factories import actor_for, make_user
from tests.http import StaffClient, text_of
from tests.onboarding.test_client_portal import register

LIST = (
    b'"id","schema","name","aliases","birth_date","countries","sanctions"\n'
    b'"S-9","Person","Ana Ruiz","","","mx","TEST"\n'
)


async def test_the_timeline_tells_the_whole_onboarding_in_order(app):
    maker = await make_user(roles={"INTL": ["compliance_officer"]})
    checker = await make_user(roles={"INTL": ["compliance_officer"]})
    await service.import_list(Actor.system("test"), "test_list", LIST, "v1", kind="sanctions", fmt="simple")
    async with StaffClient(app) as http:
        await register(http)
        await http.post(
            "/portal/documents", {"kind": "passport"}, files={"file": ("p.jpg", document_photo())}
        )
    client = (await fetch("SELECT id, reference FROM client WHERE email = 'ana.ruiz@example.com'"))[0]
    await clients.screen_client(Actor.system("test"), client["id"])
    match = (await fetch("SELECT id FROM screening_match WHERE client = $1", client["id"]))[0]
    await decisions.decide_match(
        await actor_for(maker), match["id"], "false_match", "Different person: DOB 1990"
    )
    request = await ApprovalRequest.select().where(ApprovalRequest.kind == "kyc.screening.clear").first()
    await approvals.approve(await actor_for(checker), request["id"], request["payload_hash"], "checked")
    async with StaffClient(app) as staff:
        await staff.sign_in_as(maker)
        page = text_of(await staff.get(f"/kyc/clients/{client['id']}/evidence"))
        steps = [
            "Client registered in the portal",
            "KYC document received",
            "Screening hit raised",
            "Screening match decided",
            "Request approved",
            "Strong screening match cleared (second approver)",
        ]
        positions = [page.index(step) for step in steps]
        assert positions == sorted(positions), positions
        csv = await staff.get(f"/kyc/clients/{client['id']}/evidence.csv")
        assert (
            csv.status_code == 200 and "Screening match decided" in csv.text and "received_sha256" in csv.text
        )
        pdf = await staff.get(f"/kyc/clients/{client['id']}/evidence.pdf")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
        assert (
            client["reference"] in text and "Strong screening match cleared" in text and "Chain hash" in text
        )
        outsider = await make_user(roles={"EU": ["compliance_officer"]})
        await staff.sign_in_as(outsider)
        assert (await staff.get(f"/kyc/clients/{client['id']}/evidence")).status_code == 404
