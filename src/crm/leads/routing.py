"""Routing a lead to an agent: the published rules pick a pool (or an override picks a person), the pool's
eligible agents (available, on shift, under capacity, allowed to work leads) share leads by weight, and the
decision is stored with every candidate's reason. The chosen agent's pool-member row is locked and their open
leads recounted before the lead is theirs, so concurrent leads never push anyone over capacity (see
`_claim`)."""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field

from crm.core.db import current_connection, fetch
from crm.leads import rules

# What routing needs to know about one agent (`{agent}` is the column holding their id): presence, shift
# pattern, open leads (agent_load, kept by a trigger on `lead`), days off around today, and whether they may
# work leads in the entity ($2). $3: today.
_AGENT_FACTS = """
coalesce(p.status, 'offline') AS presence, s.timezone, s.hours,
coalesce((SELECT al.open_leads FROM agent_load al WHERE al.agent_id = {agent}), 0) AS open_leads,
ARRAY(SELECT d.day FROM agent_day_off d WHERE d.agent_id = {agent}
        AND d.day BETWEEN ($3::date - 1) AND ($3::date + 1)) AS days_off,
EXISTS (SELECT 1 FROM role_assignment ra JOIN role r ON r.id = ra.role
        WHERE ra."user" = {agent} AND ra.entity = $2 AND ra.status = 'active'
          AND 'leads:lead:work' = ANY(r.permissions) AND ra.valid_from <= now()
          AND (ra.valid_until IS NULL OR ra.valid_until > now())) AS may_work
FROM {source}
LEFT JOIN agent_presence p ON p.agent_id = {agent}
LEFT JOIN agent_schedule s ON s.agent_id = {agent}
"""

# A pool with each of its members, in one query: a pool without members is one row of NULL member columns.
_CANDIDATES = (
    "SELECT to_jsonb(lp) AS pool, m.agent_id, u.full_name, m.weight, m.max_open_leads, m.assigned_count, "
    "m.last_assigned_at, m.performance, m.active AND u.active AS active, "
    + _AGENT_FACTS.format(
        agent="m.agent_id",
        source="lead_pool lp LEFT JOIN (lead_pool_member m JOIN staff_user u "
        "ON u.id = m.agent_id) ON m.pool = lp.id",
    )
    + "WHERE lp.id = $1 ORDER BY m.agent_id"
)

_PERSON = (
    "SELECT u.id AS agent_id, u.full_name, u.active, "
    + _AGENT_FACTS.format(agent="u.id", source="staff_user u")
    + "WHERE u.id = $1"
)

PERSONAL_CAP = 200  # owners and relationship managers take returning leads up to this many open leads


def _candidate(
    row,
    now: dt.datetime,
    *,
    weight: int = 1,
    max_open: int = PERSONAL_CAP,
    assigned: int = 0,
    last: dt.datetime | None = None,
    excluded: str = "",
    performance: float = 1.0,
) -> rules.Candidate:
    hours = row["hours"]
    hours = json.loads(hours) if isinstance(hours, str) else hours
    if hours:
        working, note = rules.on_shift(hours, row["timezone"] or "UTC", set(row["days_off"] or ()), now)
    else:
        working, note = True, "no shift pattern (always on)"
    candidate = rules.Candidate(
        agent_id=row["agent_id"],
        name=row["full_name"],
        weight=weight,
        max_open=max_open,
        open_leads=row["open_leads"],
        presence=row["presence"],
        on_shift=working,
        shift_note=note,
        assigned_count=assigned,
        last_assigned_at=last,
        active=row["active"],
        performance=performance,
        excluded=excluded or ("" if row["may_work"] else "may not work leads in this entity"),
    )
    return candidate.check()


@dataclass
class Decision:
    pool_id: int | None = None
    agent_id: int | None = None
    matched: str = ""
    candidates: list[dict] = field(default_factory=list)
    explanation: str = ""
    rule_set_id: int | None = None
    rule_set_version: int | None = None
    sla_seconds: int = 300
    team_id: int | None = None
    duration_ms: float = 0.0

    def note(self, text: str) -> None:
        self.explanation = f"{self.explanation} {text}".strip()


# Claim one agent in one statement: lock their load row (every routing to them, from any pool, and every
# change to their open leads takes this lock), read the latest count under it, and take a turn in the pool if
# under the cap.
_CLAIM = """
WITH load AS (SELECT open_leads FROM agent_load WHERE agent_id = $2 FOR UPDATE{skip}),
turn AS (
    UPDATE lead_pool_member SET assigned_count = assigned_count + 1, last_assigned_at = $3
    WHERE pool = $1 AND agent_id = $2 AND (SELECT open_leads FROM load) < $4
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM load) AS locked, (SELECT open_leads FROM load) AS open_now,
       EXISTS (SELECT 1 FROM turn) AS claimed
"""
_CLAIM_NOWAIT = _CLAIM.format(skip=" SKIP LOCKED")
_CLAIM_WAIT = _CLAIM.format(skip="")


async def _claim(
    conn, pool_id: int, candidates: list[rules.Candidate], now: dt.datetime, sharing: str = "manual"
) -> rules.Candidate | None:
    """The weighted round-robin's choice, made safe under concurrency: lock the chosen agent's load row
    (skipping agents another routing holds right now, so simultaneous leads spread out instead of queueing),
    and take the turn only if their open leads, read under that lock, are under the cap. Nobody ever goes over
    capacity."""
    ranked = []
    remaining = list(candidates)
    while (best := rules.pick(remaining, sharing)) is not None:
        ranked.append(best)
        remaining = [c for c in remaining if c.agent_id != best.agent_id]
    for sql in (_CLAIM_NOWAIT, _CLAIM_WAIT):  # first whoever is free, then queue behind the best
        for candidate in ranked:
            row = await conn.fetchrow(sql, pool_id, candidate.agent_id, now, candidate.max_open)
            if not row["locked"] and sql is _CLAIM_WAIT:  # never routed to before: give them a load row
                await conn.execute(
                    "INSERT INTO agent_load (agent_id, open_leads) VALUES ($1, 0) "
                    "ON CONFLICT (agent_id) DO NOTHING",
                    candidate.agent_id,
                )
                row = await conn.fetchrow(sql, pool_id, candidate.agent_id, now, candidate.max_open)
            if not row["locked"]:
                continue
            candidate.open_leads = row["open_now"]
            if row["claimed"]:
                return candidate
            candidate.eligible = False
            candidate.reason = (
                f"at capacity ({row['open_now']}/{candidate.max_open}) once the other routings committed"
            )
        ranked = [c for c in ranked if c.eligible]
    return None


async def pool_candidates(
    pool_id: int, entity_id: int, now: dt.datetime, exclude: set[int] = frozenset()
) -> tuple[dict | None, list[rules.Candidate]]:
    """A pool and every member with eligibility and its reason (reads only)."""
    rows = await fetch(_CANDIDATES, pool_id, entity_id, now.date())
    if not rows:
        return None, []
    pool = rows[0]["pool"]
    pool = json.loads(pool) if isinstance(pool, str) else pool
    return pool, [
        _candidate(
            r,
            now,
            weight=r["weight"],
            max_open=r["max_open_leads"],
            assigned=r["assigned_count"],
            last=r["last_assigned_at"],
            performance=r["performance"],
            excluded="breached the SLA on this lead" if r["agent_id"] in exclude else "",
        )
        for r in rows
        if r["agent_id"] is not None
    ]


async def person(
    agent_id: int, entity_id: int, now: dt.datetime, exclude: set[int] = frozenset()
) -> rules.Candidate | None:
    """One person (an owner, a relationship manager) with eligibility and its reason (reads only)."""
    rows = await fetch(_PERSON, agent_id, entity_id, now.date())
    if not rows:
        return None
    row = rows[0]
    return _candidate(row, now, excluded="breached the SLA on this lead" if agent_id in exclude else "")


def sla_for(rule_set: dict, pool: dict | None, score: int) -> int:
    """The follow-up SLA in seconds: the routing rules' score bands first, else the pool's, else 5 minutes."""
    bands = sorted(
        (rule_set.get("overrides") or {}).get("sla_by_score") or [], key=lambda b: -int(b.get("min_score", 0))
    )
    for band in bands:
        if score >= int(band.get("min_score", 0)) and band.get("seconds"):
            return max(30, int(band["seconds"]))
    return int(pool["sla_seconds"]) if pool else 300


async def decide(
    rule_set_row: dict | None,
    facts: rules.Facts,
    *,
    entity_id: int,
    now: dt.datetime,
    returning_owner_id: int | None = None,
    ib_manager_id: int | None = None,
    exclude: frozenset[int] = frozenset(),
    dry_run: bool = False,
) -> Decision:
    """Choose pool and agent for one lead inside the caller's transaction (locking the chosen member's row
    until it commits); `dry_run` (previews) locks and changes nothing."""
    conn = current_connection()
    clock = time.perf_counter()
    rule_set = (rule_set_row or {}).get("rules") or {}
    if isinstance(rule_set, str):
        rule_set = json.loads(rule_set)
    decision = Decision(
        rule_set_id=(rule_set_row or {}).get("id"), rule_set_version=(rule_set_row or {}).get("version")
    )
    if rule_set_row is None:
        decision.note("No routing rules are published for this entity.")
    overrides = rule_set.get("overrides") or {}

    for flag, person_id, label in (
        ("returning_client", returning_owner_id, "returning client → previous owner"),
        ("ib_manager", ib_manager_id, "IB-referred → the IB's relationship manager"),
    ):
        if person_id and overrides.get(flag, True):
            candidate = await person(person_id, entity_id, now, set(exclude))
            if candidate is None:
                continue
            decision.candidates.append(
                {
                    "agent_id": candidate.agent_id,
                    "name": candidate.name,
                    "eligible": candidate.eligible,
                    "reason": candidate.reason,
                    "via": label,
                }
            )
            if candidate.eligible:
                decision.agent_id, decision.matched = candidate.agent_id, f"override: {label}"
                decision.note(f"Override {label}: {candidate.name} ({candidate.reason}).")
                decision.sla_seconds = sla_for(rule_set, None, facts.score)
                return _done(decision, clock)
            decision.note(f"Override {label} skipped: {candidate.name} is not eligible ({candidate.reason}).")

    choice = rules.choose_pool(rule_set, facts)
    decision.matched = choice.matched
    pool_id, seen = choice.pool_id, set()
    while pool_id and pool_id not in seen and len(seen) < 5:
        seen.add(pool_id)
        pool, candidates = await pool_candidates(pool_id, entity_id, now, set(exclude))
        if pool is None or not pool["active"] or pool["entity_id"] != entity_id:
            decision.note(f"Pool #{pool_id} is inactive or belongs to another entity.")
            break
        decision.pool_id, decision.team_id = pool["id"], pool["team_id"]
        decision.sla_seconds = sla_for(rule_set, pool, facts.score)
        sharing = pool.get("weighting") or "manual"
        chosen = (
            rules.pick(candidates, sharing)
            if dry_run
            else await _claim(conn, pool["id"], candidates, now, sharing)
        )
        decision.candidates += [
            {
                "agent_id": c.agent_id,
                "name": c.name,
                "eligible": c.eligible,
                "reason": c.reason,
                "pool": pool["name"],
                "share": f"{c.assigned_count}/{c.weight}",
                "performance": c.performance,
            }
            for c in candidates
        ]
        if chosen:
            decision.agent_id = chosen.agent_id
            decision.note(
                f"Rule “{choice.matched}” → pool {pool['name']}. {sum(c.eligible for c in candidates)} of "
                f"{len(candidates)} agents eligible; shared {rules.SHARING.get(sharing, sharing)}: "
                f"{chosen.name} ({_standing(chosen, sharing)})."
            )
            return _done(decision, clock)
        decision.note(f"Pool {pool['name']}: nobody eligible ({len(candidates)} members).")
        pool_id = pool["fallback_pool_id"] or (
            rule_set.get("fallback_pool_id") if pool_id != rule_set.get("fallback_pool_id") else None
        )
        if pool_id:
            decision.note("Trying the fallback pool.")
    if decision.agent_id is None:
        decision.note("The lead waits in the unassigned queue.")
    return _done(decision, clock)


def _standing(chosen: rules.Candidate, sharing: str) -> str:
    if sharing == "workload":
        return f"{chosen.open_leads}/{chosen.max_open} open"
    if sharing == "performance":
        return (
            f"{chosen.assigned_count} leads for weight {chosen.weight} × performance {chosen.performance:.2f}"
        )
    return f"{chosen.assigned_count} leads for weight {chosen.weight}"


def _done(decision: Decision, clock: float) -> Decision:
    decision.candidates = decision.candidates[:100]
    decision.duration_ms = (time.perf_counter() - clock) * 1000
    return decision
