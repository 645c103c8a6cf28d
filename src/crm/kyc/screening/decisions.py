"""A reviewer decides each screening match: a true match (the client is blocked), or a false match with a
reason. Clearing a strong hit is a second person's decision: the first reviewer's "false match" becomes an
approval request bound to the match and its entry row, and only another holder of the decide permission (not
the client's owner) can approve it. Every step is audited with the case id and written into the case."""

from __future__ import annotations

from crm.core.approvals.service import ActionKind, register_action, request_approval
from crm.core.audit.service import record_audit
from crm.core.cases.service import add_entry
from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import Conflict, ValidationFailed
from crm.core.permissions import Permission
from crm.core.scope import in_scope
from crm.kyc.screening.clients import settle_client
from crm.kyc.tables import MatchStatus
from crm.kyc.tags import KycTag

VERDICTS = (MatchStatus.TRUE_MATCH, MatchStatus.FALSE_MATCH)
MIN_REASON = 10
CLEAR_KIND = "kyc.screening.clear"


async def _locked_match(actor: Actor, match_id: int) -> dict:
    row = await current_connection().fetchrow(
        "SELECT m.*, c.reference AS client_reference, c.owner AS client_owner FROM screening_match m "
        "JOIN client c ON c.id = m.client WHERE m.id = $1 FOR UPDATE OF m",
        match_id,
    )
    return in_scope(actor, Permission.KYC_REVIEW_VIEW, row, "Screening match", entity="entity")


async def _note(actor: Actor, match: dict, body: str, data: dict) -> None:
    case = await current_connection().fetchrow(
        "SELECT * FROM work_case WHERE reference = $1", match["case_reference"]
    )
    if case:
        await add_entry(dict(case), actor, "decision", body, data)


def _label(match: dict) -> str:
    return f"{match['client_reference']} · {match['entry_name']} ({match['list_code']} {match['entry_key']})"


async def decide_match(actor: Actor, match_id: int, verdict: str, reason: str) -> str:
    """Record a reviewer's verdict; returns the match's new status (`clearing` when a second approver must
    confirm a false match on a strong hit)."""
    reason = (reason or "").strip()
    if verdict not in VERDICTS:
        raise ValidationFailed("Choose true or false match", field_errors={"verdict": "True or false match?"})
    if len(reason) < MIN_REASON:
        raise ValidationFailed(
            "Give the reason for the decision",
            field_errors={
                "reason": f"At least {MIN_REASON} characters: what you compared and what you found."
            },
        )
    async with transaction():
        match = await _locked_match(actor, match_id)
        actor.require(Permission.KYC_REVIEW_DECIDE, match["entity"])
        if match["status"] != MatchStatus.OPEN:
            raise Conflict("This match is decided already (or waiting for a second approver)")
        conn = current_connection()
        if verdict == MatchStatus.FALSE_MATCH and match["strong"]:
            request_id = await request_approval(
                actor,
                CLEAR_KIND,
                entity_id=match["entity"],
                target_type="screening_match",
                target_id=match_id,
                target_label=_label(match),
                payload={
                    "match_id": match_id,
                    "client_id": match["client"],
                    "entry_row": match["entry_row"],
                    "score": str(match["score"]),
                    "verdict": verdict,
                },
                reason=reason,
                case_id=match["case_reference"],
                expires_in=None,  # the case's SLA chases it; an expired request would leave the match stuck
                conflicted=[match["client_owner"]] if match["client_owner"] else [],
            )
            status = MatchStatus.CLEARING
            await conn.execute(
                "UPDATE screening_match SET status = 'clearing', approval_request_id = $2, decided_by = $3, "
                "decision_reason = $4 WHERE id = $1",
                match_id,
                request_id,
                actor.user_id,
                reason,
            )
            note = f"{actor.label} judged {_label(match)} a false match; a second approver must confirm"
        else:
            status = MatchStatus(verdict)
            await conn.execute(
                "UPDATE screening_match SET status = $2, decided_by = $3, decided_at = now(), "
                "decision_reason = $4 WHERE id = $1",
                match_id,
                status,
                actor.user_id,
                reason,
            )
            word = "true" if status == MatchStatus.TRUE_MATCH else "false"
            note = f"{actor.label} decided {_label(match)}: {word} match"
        await record_audit(
            actor,
            KycTag.MATCH_DECIDE,
            target_type="screening_match",
            target_id=match_id,
            target_label=_label(match),
            entity_id=match["entity"],
            client_id=match["client"],
            before={"status": match["status"]},
            after={"status": status, "verdict": verdict, "score": match["score"], "strong": match["strong"]},
            reason=reason,
            case_id=match["case_reference"],
        )
        await _note(actor, match, f"{note}. {reason}", {"match_id": match_id, "status": status})
        await settle_client(actor, match["client"])
    return status


async def _clear(actor: Actor, request: dict) -> None:
    """The second approver confirms the false match (in the approval's transaction)."""
    p = request["payload"]
    match = await _locked_match(Actor.system(CLEAR_KIND), p["match_id"])
    if match["status"] != MatchStatus.CLEARING or match["entry_row"] != p["entry_row"]:
        raise Conflict("This match is no longer waiting for a second approver")
    await current_connection().execute(
        "UPDATE screening_match SET status = 'false_match', decided_at = now() WHERE id = $1", match["id"]
    )
    await record_audit(
        actor,
        KycTag.MATCH_CLEAR,
        target_type="screening_match",
        target_id=match["id"],
        target_label=_label(match),
        entity_id=match["entity"],
        client_id=match["client"],
        before={"status": "clearing"},
        after={"status": "false_match", "first_reviewer": request["maker_label"]},
        reason=request["reason"],
        case_id=match["case_reference"],
    )
    await _note(
        actor,
        match,
        f"{actor.label} confirmed {_label(match)} as a false match (first reviewer {request['maker_label']})",
        {"match_id": match["id"], "status": "false_match"},
    )
    await settle_client(actor, match["client"])


async def _reopen(actor: Actor, request: dict) -> None:
    """The second approver refused: the match is open again, for a fresh decision."""
    match = await _locked_match(Actor.system(CLEAR_KIND), request["payload"]["match_id"])
    if match["status"] != MatchStatus.CLEARING:
        return
    await current_connection().execute(
        "UPDATE screening_match SET status = 'open', decided_by = NULL, decision_reason = '', "
        "approval_request_id = NULL WHERE id = $1",
        match["id"],
    )
    await record_audit(
        actor,
        KycTag.MATCH_REOPEN,
        target_type="screening_match",
        target_id=match["id"],
        target_label=_label(match),
        entity_id=match["entity"],
        client_id=match["client"],
        before={"status": "clearing"},
        after={"status": "open"},
        case_id=match["case_reference"],
    )
    await _note(
        actor,
        match,
        f"{actor.label} refused to clear {_label(match)}; the match is open again",
        {"match_id": match["id"], "status": "open"},
    )
    await settle_client(actor, match["client"])


async def _client_owner(request: dict) -> list[int]:
    rows = await fetch("SELECT owner FROM client WHERE id = $1", int(request["payload"]["client_id"]))
    return [rows[0]["owner"]] if rows and rows[0]["owner"] else []


register_action(
    ActionKind(
        name=CLEAR_KIND,
        label="Clear a strong screening hit as a false match",
        approver_permission=Permission.KYC_REVIEW_DECIDE,
        execute=_clear,
        on_reject=_reopen,
        beneficiaries=_client_owner,
    )
)
