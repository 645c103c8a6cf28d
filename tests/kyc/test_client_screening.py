"""Clients screened against the lists: a hit opens one compliance case and is decided by a reviewer with a
reason, a strong hit is cleared only by a second person, a decided match is not raised again until its entry
changes, an import re-screens only what moved (its jobs run in a real arq worker), all on the screens."""

import datetime as dt

import pytest

from crm.core.approvals import service as approvals
from crm.core.approvals.tables import ApprovalRequest
from crm.core.audit.tables import AuditRecord
from crm.core.context import Actor
from crm.core.db import fetch, transaction
from crm.core.errors import Conflict, SegregationOfDuties, ValidationFailed
from crm.core.jobs import enqueue
from crm.kyc.screening import clients, decisions, service
from crm.settings import REPO_ROOT, Settings
from tests.conftest import run_jobs
from tests.factories import actor_for, make_client, make_user
from tests.http import StaffClient, text_of

SYSTEM = Actor.system("test")
HEADER = '"id","schema","name","aliases","birth_date","countries","sanctions"\n'
DATA = REPO_ROOT.parent / "shared" / "data" / "sanctions"


def listing(*rows: str) -> bytes:
    return (HEADER + "\n".join(rows) + "\n").encode()


BOUT = '"S-1","Person","Viktor Bout","Viktor Anatolyevich Bout;Boutov","1967-01-13","ru","TEST"'
WEAK = '"S-2","Person","Viktor Boutman","","1950-01-01","us","TEST"'


async def import_test_list(data: bytes, label: str) -> service.ImportResult:
    return await service.import_list(SYSTEM, "test_sanctions", data, label, kind="sanctions", fmt="simple")


async def state(client_id: int) -> dict:
    return dict((await fetch("SELECT * FROM client_screening WHERE client = $1", client_id))[0])


async def matches(client_id: int) -> list[dict]:
    return [
        dict(r) for r in await fetch("SELECT * FROM screening_match WHERE client = $1 ORDER BY id", client_id)
    ]


async def officers() -> tuple[dict, dict]:
    return (
        await make_user(roles={"INTL": ["compliance_officer"]}),
        await make_user(roles={"INTL": ["compliance_officer"]}),
    )


async def test_a_hit_opens_one_case_and_a_true_match_blocks_the_client():
    await import_test_list(listing(BOUT, WEAK), "v1")
    client = await make_client(
        "INTL", first_name="Viktor", last_name="Bout", date_of_birth=dt.date(1967, 1, 13)
    )
    clean = await make_client("INTL", first_name="Emma", last_name="Johansson")
    first = await clients.screen_client(SYSTEM, client["id"])
    assert first["raised"] == 1 and first["status"] == "review" and first["case_reference"]
    assert (await clients.screen_client(SYSTEM, client["id"]))["raised"] == 0  # raised once
    assert (await clients.screen_client(SYSTEM, clean["id"]))["status"] == "clear"
    case = (await fetch("SELECT * FROM work_case WHERE reference = $1", first["case_reference"]))[0]
    assert case["kind"] == "kyc.screening" and case["priority"] == 1  # a strong hit comes first
    [match] = await matches(client["id"])
    assert match["strong"] and match["entry_key"] == "S-1" and match["explanation"]
    officer, _ = await officers()
    with pytest.raises(ValidationFailed, match="reason"):
        await decisions.decide_match(await actor_for(officer), match["id"], "true_match", "same")
    status = await decisions.decide_match(
        await actor_for(officer), match["id"], "true_match", "Same name, same date of birth, Russian passport"
    )
    assert status == "true_match" and (await state(client["id"]))["status"] == "confirmed"
    case = (await fetch("SELECT * FROM work_case WHERE reference = $1", first["case_reference"]))[0]
    assert case["status"] == "resolved" and case["resolution"] == "risk_confirmed"
    audit = await AuditRecord.select().where(AuditRecord.case_id == first["case_reference"])
    assert {"kyc:screening:hit", "kyc:match:decide", "cases:case:resolve"} <= {a["action"] for a in audit}
    with pytest.raises(Conflict):
        await decisions.decide_match(await actor_for(officer), match["id"], "false_match", "changed my mind")
    outsider = await make_user(roles={"EU": ["compliance_officer"]})
    with pytest.raises(Exception, match="not found|Not found"):
        await decisions.decide_match(await actor_for(outsider), match["id"], "false_match", "not this person")


async def test_clearing_a_strong_hit_takes_a_second_person_and_a_changed_entry_is_raised_again():
    await import_test_list(listing(BOUT), "v1")
    owner = await make_user(roles={"INTL": ["compliance_officer"]})
    client = await make_client("INTL", first_name="Viktor", last_name="Bout", owner=owner["id"])
    raised = await clients.screen_client(SYSTEM, client["id"])
    [match] = await matches(client["id"])
    maker, checker = await officers()
    reason = "Passport: born 1979 in Minsk, a different person"
    assert (
        await decisions.decide_match(await actor_for(maker), match["id"], "false_match", reason) == "clearing"
    )
    request = (
        await ApprovalRequest.select()
        .where(ApprovalRequest.id == (await matches(client["id"]))[0]["approval_request_id"])
        .first()
    )
    assert request["kind"] == "kyc.screening.clear" and request["case_id"] == raised["case_reference"]
    with pytest.raises(SegregationOfDuties):
        await approvals.approve(await actor_for(maker), request["id"], request["payload_hash"])
    with pytest.raises(SegregationOfDuties):  # the client's owner may not clear their own client
        await approvals.approve(await actor_for(owner), request["id"], request["payload_hash"])
    assert (await state(client["id"]))["status"] == "review"
    await approvals.approve(await actor_for(checker), request["id"], request["payload_hash"], "agreed")
    assert (await matches(client["id"]))[0]["status"] == "false_match"
    assert (await state(client["id"]))["status"] == "clear"
    case = (await fetch("SELECT * FROM work_case WHERE reference = $1", raised["case_reference"]))[0]
    assert case["status"] == "resolved" and case["resolution"] == "false_positive"
    assert (await clients.screen_client(SYSTEM, client["id"]))["raised"] == 0  # cleared: not raised again
    changed = BOUT.replace("Boutov", "Boutov;Victor Butt")  # the entry changes: a new alias
    version = await import_test_list(listing(changed), "v2")
    assert version.changed == 1
    await run_jobs(Settings.from_env())  # the delta re-screen of the import
    rows = await matches(client["id"])
    assert [r["status"] for r in rows] == ["false_match", "open"] and rows[0]["entry_row"] != rows[1][
        "entry_row"
    ]
    again = await state(client["id"])
    assert again["status"] == "review" and again["case_reference"] != raised["case_reference"]  # a new case


async def test_a_refused_clearing_opens_the_match_again_and_an_entry_that_leaves_lapses():
    await import_test_list(listing(BOUT), "v1")
    client = await make_client("INTL", first_name="Viktor", last_name="Bout")
    await clients.screen_client(SYSTEM, client["id"])
    [match] = await matches(client["id"])
    maker, checker = await officers()
    await decisions.decide_match(
        await actor_for(maker), match["id"], "false_match", "Looks like someone else"
    )
    request_id = (await matches(client["id"]))[0]["approval_request_id"]
    await approvals.reject(await actor_for(checker), request_id, "Compare the passport photo first")
    assert (await matches(client["id"]))[0]["status"] == "open"
    await import_test_list(listing(WEAK), "v2")  # the entry is gone from the list
    await run_jobs(Settings.from_env())
    assert (await matches(client["id"]))[0]["status"] == "lapsed"
    assert (await state(client["id"]))["status"] == "clear"
    assert await AuditRecord.exists().where(AuditRecord.action == "kyc:match:lapse")


async def test_an_import_re_screens_only_what_moved_between_the_two_sdn_snapshots():
    old, new = DATA / "ofac-sdn-2024-04-25.csv", DATA / "ofac-sdn-2024-05-03.csv"
    if not new.exists():
        pytest.skip("shared/data/sanctions is not beside the repository")
    listed = await make_client(
        "INTL", first_name="Firas", last_name="Moukalled", date_of_birth=dt.date(1990, 10, 9)
    )
    clean = await make_client("INTL", first_name="Emma", last_name="Johansson")
    await service.import_list(SYSTEM, "ofac_sdn", old.read_bytes(), "2024-04-25")
    await run_jobs(Settings.from_env())
    assert not await matches(listed["id"])  # not on the April list
    result = await service.import_list(SYSTEM, "ofac_sdn", new.read_bytes(), "2024-05-03")
    await run_jobs(Settings.from_env())
    [match] = await matches(listed["id"])
    assert match["entry_key"] == "48325" and "moukalled" in match["explanation"]
    assert not await matches(clean["id"])
    run = await fetch(
        "SELECT output FROM automation_run WHERE automation = 'kyc.rescreen_delta' ORDER BY id DESC LIMIT 1"
    )
    assert f'"entries": {result.added + result.changed}' in run[0]["output"]


async def test_the_full_re_screen_notes_every_client():
    await import_test_list(listing(BOUT), "v1")
    listed = await make_client("INTL", first_name="Viktor", last_name="Bout")
    clean = await make_client("INTL", first_name="Emma", last_name="Johansson")
    async with transaction():
        await enqueue(SYSTEM, "kyc.rescreen_all")
    await run_jobs(Settings.from_env())
    assert (await state(listed["id"]))["status"] == "review"
    assert (await state(clean["id"]))["screened_name"] == "Emma Johansson"


async def test_compliance_decides_on_the_screening_screen(app):
    await import_test_list(listing(BOUT), "v1")
    client = await make_client("INTL", first_name="Viktor", last_name="Bout")
    maker, checker = await officers()
    agent = await make_user(roles={"INTL": ["sales_agent"]})
    async with StaffClient(app) as http:
        await http.sign_in_as(maker)
        screened = await http.post(f"/kyc/screening/{client['id']}/screen", {})
        assert screened.status_code == 303
        page = await http.get(f"/kyc/screening/{client['id']}")
        assert (
            "Viktor Bout" in text_of(page) and "strong hit" in text_of(page) and "To review" in text_of(page)
        )
        [match] = await matches(client["id"])
        refused = await http.post(
            f"/kyc/matches/{match['id']}/decide", {"verdict": "false_match", "reason": "no"}
        )
        assert refused.status_code == 422 and "At least 10 characters" in text_of(refused)
        done = await http.post(
            f"/kyc/matches/{match['id']}/decide",
            {"verdict": "false_match", "reason": "Different date of birth and nationality"},
        )
        assert done.status_code == 303
        assert "waiting for a second approver" in text_of(await http.get(f"/kyc/screening/{client['id']}"))
        await http.sign_in_as(agent)
        assert (await http.get(f"/kyc/screening/{client['id']}")).status_code == 403
