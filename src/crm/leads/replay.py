"""What-if replay: the last N days of an entity's leads run through the draft rules (or the published ones),
to see the distribution per pool and agent before publishing. A background job with live progress.

The simulation is honest about what it knows: rules, scores, pools, weights and shifts are applied at each
lead's arrival time; presence and capacity are not (nobody knows who was at their desk last Tuesday), and the
weighted round-robin starts from zero credits. Overrides that need a person (returning client, IB manager) are
counted as such, not simulated."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import Counter, defaultdict

from crm.core.context import Actor
from crm.core.db import current_connection, fetch, transaction
from crm.core.errors import ValidationFailed
from crm.core.jobs import JobRun, enqueue, job, job_id_for
from crm.core.permissions import Permission
from crm.core.scope import in_scope
from crm.leads import rules

BATCH = 5000


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


async def _rule_set(kind: str, entity_id: int, use_drafts: bool) -> dict | None:
    statuses = ["draft", "pending", "published"] if use_drafts else ["published"]
    rows = await fetch(
        "SELECT * FROM lead_rule_set WHERE kind = $1 AND entity_id = $2 AND status = ANY($3::text[]) "
        "ORDER BY (status = 'published'), version DESC LIMIT 1",
        kind,
        entity_id,
        statuses,
    )
    return dict(rows[0]) | {"rules": _json(rows[0]["rules"])} if rows else None


async def start(actor: Actor, entity_id: int, *, days: int, use_drafts: bool) -> int:
    actor.require(Permission.LEADS_ROUTING_MANAGE, entity_id)
    if not 1 <= days <= 365:
        raise ValidationFailed("Replay 1 to 365 days", field_errors={"days": "1 to 365."})
    routing = await _rule_set("routing", entity_id, use_drafts)
    if routing is None:
        raise ValidationFailed("There are no routing rules to replay: save a draft first")
    scoring = await _rule_set("scoring", entity_id, use_drafts)
    async with transaction():
        conn = current_connection()
        replay_id = await conn.fetchval(
            "INSERT INTO lead_routing_replay (entity_id, rule_set_id, scoring_set_id, days, status, total, "
            "done, result, "
            "job_id, created_by_id, created_at, seconds) VALUES ($1, $2, $3, $4, 'queued', 0, 0, '{}', '', "
            "$5, now(), 0) "
            "RETURNING id",
            entity_id,
            routing["id"],
            scoring["id"] if scoring else None,
            days,
            actor.user_id,
        )
        event_id = await enqueue(
            actor,
            "leads.replay",
            entity_id=entity_id,
            subject_type="lead_routing_replay",
            subject_id=replay_id,
            replay_id=replay_id,
        )
        await conn.execute(
            "UPDATE lead_routing_replay SET job_id = $2 WHERE id = $1", replay_id, job_id_for(event_id)
        )
    return replay_id


async def get(actor: Actor, replay_id: int) -> dict:
    rows = await fetch(
        "SELECT r.*, s.version AS routing_version, s.status AS routing_status FROM lead_routing_replay r "
        "LEFT JOIN lead_rule_set s ON s.id = r.rule_set_id WHERE r.id = $1",
        replay_id,
    )
    row = in_scope(actor, Permission.LEADS_ROUTING_MANAGE, rows[0] if rows else None, "Replay")
    return row | {"result": _json(row["result"])}


async def recent(entity_id: int) -> list[dict]:
    return [
        dict(r)
        for r in await fetch(
            "SELECT r.id, r.days, r.status, r.total, r.created_at, r.seconds, s.version AS routing_version "
            "FROM lead_routing_replay r "
            "LEFT JOIN lead_rule_set s ON s.id = r.rule_set_id WHERE r.entity_id = $1 ORDER BY r.id DESC "
            "LIMIT 10",
            entity_id,
        )
    ]


_LEADS = """
SELECT l.id, l.created_at, l.country, l.language, l.source, l.campaign, l.brand, l.utm, l.signals, l.score,
       l.first_name, l.last_name, l.email, l.phone, l.ib_code, l.owner_id, l.pool_id
FROM lead l WHERE l.entity_id = $1 AND l.created_at >= $2 AND l.merged_into_id IS NULL AND l.id > $3
ORDER BY l.id LIMIT $4
"""


async def simulate(
    entity_id: int, routing: dict, scoring: dict | None, since: dt.datetime, progress=None
) -> dict:
    """Run the leads since `since` through the rules; returns the distribution and how it differs from
    reality."""
    doc = routing["rules"] or {}
    score_rules = ((scoring or {}).get("rules") or {}).get("rules", [])
    timezone = rules.zone(doc.get("timezone") or "UTC")
    entity_code = (await fetch("SELECT code FROM legal_entity WHERE id = $1", entity_id))[0]["code"]
    pools = {
        r["id"]: dict(r)
        for r in await fetch(
            "SELECT id, name, fallback_pool_id, weighting FROM lead_pool WHERE entity_id = $1 AND active",
            entity_id,
        )
    }
    members: dict[int, list[rules.Candidate]] = defaultdict(list)
    schedules = {
        r["agent_id"]: (r["timezone"], _json(r["hours"])) for r in await fetch("SELECT * FROM agent_schedule")
    }
    days_off: dict[int, set] = defaultdict(set)
    for r in await fetch("SELECT agent_id, day FROM agent_day_off"):
        days_off[r["agent_id"]].add(r["day"])
    for r in await fetch(
        """SELECT m.pool, m.agent_id, m.weight, m.performance, u.full_name FROM lead_pool_member m
                            JOIN staff_user u ON u.id = m.agent_id WHERE m.active AND u.active
                            AND m.pool = ANY($1::int[])""",
        list(pools),
    ):
        members[r["pool"]].append(
            rules.Candidate(
                r["agent_id"],
                r["full_name"],
                weight=r["weight"],
                max_open=10**9,
                presence="available",
                performance=r["performance"],
            )
        )
    referral_codes = {
        r["code"]
        for r in await fetch("SELECT code FROM referral_code WHERE entity_id = $1 AND active", entity_id)
    }
    total = (
        await fetch(
            "SELECT count(*) AS n FROM lead WHERE entity_id = $1 AND created_at >= $2 AND merged_into_id IS "
            "NULL",
            entity_id,
            since,
        )
    )[0]["n"]
    per_pool, per_agent, per_rule = Counter(), Counter(), Counter()
    moved = unassigned = done = 0
    last_id = 0
    while True:
        batch = await fetch(_LEADS, entity_id, since, last_id, BATCH)
        if not batch:
            break
        for lead in batch:
            signals = _json(lead["signals"]) or {}
            utm = _json(lead["utm"]) or {}
            local = lead["created_at"].astimezone(timezone)
            facts = rules.Facts(
                country=lead["country"],
                language=lead["language"],
                source=lead["source"],
                campaign=lead["campaign"],
                brand=lead["brand"],
                utm_medium=utm.get("utm_medium", ""),
                entity_code=entity_code,
                form_complete=all(lead[k] for k in ("first_name", "last_name", "email", "phone", "country")),
                has_phone=bool(lead["phone"]),
                has_email=bool(lead["email"]),
                ib_referred=lead["ib_code"] in referral_codes,
                kyc_started=bool(signals.get("kyc_started")),
                demo_sessions=int(signals.get("demo_sessions") or 0),
                score=lead["score"],
                local_hour=local.hour,
            )
            if score_rules:
                facts = rules.Facts(**{**facts.__dict__, "score": rules.score(score_rules, facts)[0]})
            choice = rules.choose_pool(doc, facts)
            per_rule[choice.matched] += 1
            pool_id, chosen, seen = choice.pool_id, None, set()
            while pool_id and pool_id in pools and pool_id not in seen:
                seen.add(pool_id)
                candidates = members.get(pool_id, [])
                for c in candidates:
                    tz, hours = schedules.get(c.agent_id, ("UTC", None))
                    c.on_shift = (
                        rules.on_shift(hours, tz, days_off[c.agent_id], lead["created_at"])[0]
                        if hours
                        else True
                    )
                chosen = rules.pick(candidates, pools[pool_id]["weighting"])
                if chosen:
                    chosen.assigned_count += 1
                    break
                pool_id = pools[pool_id]["fallback_pool_id"] or (
                    doc.get("fallback_pool_id") if pool_id != doc.get("fallback_pool_id") else None
                )
            per_pool[pools[pool_id]["name"] if pool_id in pools else "(no pool)"] += 1
            if chosen:
                per_agent[chosen.name] += 1
                moved += chosen.agent_id != lead["owner_id"]
            else:
                per_agent["(unassigned)"] += 1
                unassigned += 1
                moved += lead["owner_id"] is not None
        done += len(batch)
        last_id = batch[-1]["id"]
        if progress:
            await progress(done, total)
    return {
        "total": done,
        "per_pool": dict(per_pool.most_common()),
        "per_agent": dict(per_agent.most_common()),
        "per_rule": dict(per_rule.most_common()),
        "unassigned": unassigned,
        "different_owner": moved,
    }


@job("leads.replay", max_attempts=2, timeout_s=1800, label="Routing what-if replay")
async def run_replay(run: JobRun, replay_id: int) -> dict:
    rows = await fetch("SELECT * FROM lead_routing_replay WHERE id = $1", replay_id)
    if not rows or rows[0]["status"] == "done":
        return {"skipped": "done or gone"}
    replay = dict(rows[0])
    clock = time.perf_counter()
    async with transaction():
        await current_connection().execute(
            "UPDATE lead_routing_replay SET status = 'running' WHERE id = $1", replay_id
        )
    routing = (await fetch("SELECT * FROM lead_rule_set WHERE id = $1", replay["rule_set_id"]))[0]
    scoring = (
        await fetch("SELECT * FROM lead_rule_set WHERE id = $1", replay["scoring_set_id"] or 0) or [None]
    )[0]
    since = dt.datetime.now(dt.UTC) - dt.timedelta(days=replay["days"])

    async def progress(done: int, total: int) -> None:
        async with transaction():
            await current_connection().execute(
                "UPDATE lead_routing_replay SET done = $2, total = $3 WHERE id = $1", replay_id, done, total
            )
        await run.progress(done, total)

    result = await simulate(
        replay["entity_id"],
        dict(routing) | {"rules": _json(routing["rules"])},
        dict(scoring) | {"rules": _json(scoring["rules"])} if scoring else None,
        since,
        progress,
    )
    seconds = time.perf_counter() - clock
    async with transaction():
        await current_connection().execute(
            "UPDATE lead_routing_replay SET status = 'done', result = $2::jsonb, total = $3, done = $3, "
            "seconds = $4, "
            "finished_at = now() WHERE id = $1",
            replay_id,
            json.dumps(result),
            result["total"],
            seconds,
        )
    await run.progress(result["total"], result["total"], force=True)
    return {"replay_id": replay_id, "total": result["total"], "seconds": round(seconds, 2)}
