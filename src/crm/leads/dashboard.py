"""The team lead's figures over the actor's entities: speed to lead, SLA breaches and conversion from the
daily roll-up (leads/figures.py), day by day and per agent, pool and source; the open load per agent live."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from crm.core.context import Actor
from crm.core.db import fetch
from crm.core.permissions import Permission
from crm.leads.figures import BANDS, percentile
from crm.leads.tables import OPEN_LEAD_STATUSES

_ROLLUP = """
SELECT day, dimension, key, leads, contacted, registered, funded, lost, speed_hist, refreshed_at
FROM lead_figures_day WHERE entity_id = ANY($1::int[]) AND day >= $2
"""

_OPEN = "(" + ", ".join(f"'{s}'" for s in OPEN_LEAD_STATUSES) + ")"  # as in the index lead_owner_untouched
# The agents of the entities' pools: their open leads from agent_load (kept by a trigger on `lead`), and those
# not contacted yet counted on the partial index of untouched open leads (an index-only scan).
_LOAD = f"""
SELECT u.id, u.full_name, coalesce(p.status, 'offline') AS presence, m.capacity,
       coalesce(al.open_leads, 0) AS open_leads, o.untouched
FROM (SELECT pm.agent_id, max(pm.max_open_leads) AS capacity
      FROM lead_pool_member pm JOIN lead_pool lp ON lp.id = pm.pool
      WHERE lp.entity_id = ANY($1::int[]) GROUP BY pm.agent_id) m
JOIN staff_user u ON u.id = m.agent_id
LEFT JOIN agent_presence p ON p.agent_id = u.id
LEFT JOIN agent_load al ON al.agent_id = u.id
CROSS JOIN LATERAL (
    SELECT count(*) AS untouched FROM lead l
    WHERE l.owner_id = u.id AND l.first_contact_at IS NULL AND l.merged_into_id IS NULL
      AND l.status IN {_OPEN} AND l.entity_id = ANY($1::int[])) o
WHERE coalesce(al.open_leads, 0) > 0 OR p.status = 'available'
ORDER BY open_leads DESC, u.full_name LIMIT 100
"""  # noqa: S608 (the statuses are constants, no input)

_BREACHES = """
SELECT u.id, u.full_name, count(*) AS breaches, max(b.created_at) AS last_at,
       count(*) FILTER (WHERE b.created_at > now() - interval '1 day') AS today
FROM lead_sla_breach b JOIN lead l ON l.id = b.lead JOIN staff_user u ON u.id = b.agent_id
WHERE l.entity_id = ANY($1::int[]) AND b.created_at >= $2
GROUP BY u.id, u.full_name ORDER BY breaches DESC LIMIT 50
"""

_BREACHES_BY_DAY = """
SELECT (b.created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
FROM lead_sla_breach b JOIN lead l ON l.id = b.lead
WHERE l.entity_id = ANY($1::int[]) AND b.created_at >= $2
GROUP BY 1
"""


COUNTS = ("leads", "contacted", "registered", "funded", "lost")


class _Total:
    """Counts and speed histograms gathered row by row, summed once (column-wise, in C) when read."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys(COUNTS, 0)
        self.hists: list[list[int]] = []

    def add(self, row) -> None:
        for name in COUNTS:
            self.counts[name] += row[name]
        if row["speed_hist"]:
            self.hists.append(row["speed_hist"])

    def figures(self) -> dict:
        hist = [sum(column) for column in zip(*self.hists, strict=True)] if self.hists else [0] * BANDS
        return self.counts | {"hist": hist}


def _speed(total: _Total) -> dict:
    figures = total.figures()
    return figures | {"p50_s": percentile(figures["hist"], 0.5), "p90_s": percentile(figures["hist"], 0.9)}


def _rate(per_day: dict, day: dt.date, name: str) -> float | None:
    """`name` as a percentage of the day's leads; None for a day without leads (a gap in the line)."""
    total = per_day.get(day)
    return 100 * total[name] / total["leads"] if total and total["leads"] else None


async def _names(table: str, column: str, ids: list[str]) -> dict[str, str]:
    wanted = [int(i) for i in ids if i.isdigit()]
    if not wanted:
        return {}
    rows = await fetch(f"SELECT id, {column} AS name FROM {table} WHERE id = ANY($1::int[])", wanted)  # noqa: S608
    return {str(r["id"]): r["name"] for r in rows}


async def figures(actor: Actor, days: int = 30) -> dict:
    entities = actor.entities_with(Permission.LEADS_TEAM_VIEW) or [-1]
    days = max(1, min(days, 365))
    today = dt.datetime.now(dt.UTC).date()
    since = today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC)
    groups: dict[tuple[str, str], _Total] = defaultdict(_Total)
    per_day: dict[dt.date, _Total] = defaultdict(_Total)
    refreshed = None
    for row in await fetch(_ROLLUP, entities, since):
        groups[(row["dimension"], row["key"])].add(row)
        if row["dimension"] == "all":
            per_day[row["day"]].add(row)
        refreshed = max(refreshed or row["refreshed_at"], row["refreshed_at"])
    days_figures = {day: total.figures() for day, total in per_day.items()}
    agents = await _names("staff_user", "full_name", [k for d, k in groups if d == "agent"])
    pools = await _names("lead_pool", "name", [k for d, k in groups if d == "pool"])

    def ranked(dimension: str, names: dict[str, str], empty: str) -> list[dict]:
        rows = [
            _speed(total) | {"label": names.get(key, key) if key else empty}
            for (dim, key), total in groups.items()
            if dim == dimension
        ]
        return sorted(rows, key=lambda r: (-r["leads"], r["label"]))[:50]

    breaches_by_day = {r["day"]: r["n"] for r in await fetch(_BREACHES_BY_DAY, entities, start)}
    calendar = [since + dt.timedelta(days=i) for i in range(days)]
    whole = _speed(groups.get(("all", ""), _Total()))
    conversion = [
        r | {"source": r["label"], "rate": (r["funded"] / r["leads"]) if r["leads"] else 0}
        for r in ranked("source", {}, "(direct)")
    ]
    return {
        "days": days,
        "refreshed_at": refreshed,
        "total": whole | {"breaches": sum(breaches_by_day.values())},
        "calendar": calendar,
        "series": {
            "leads": [days_figures[d]["leads"] if d in days_figures else 0 for d in calendar],
            "median_s": [
                percentile(days_figures[d]["hist"], 0.5) if d in days_figures else None for d in calendar
            ],
            "funded_rate": [_rate(days_figures, d, "funded") for d in calendar],
            "registered_rate": [_rate(days_figures, d, "registered") for d in calendar],
            "breaches": [breaches_by_day.get(d, 0) for d in calendar],
        },
        "speed_by_agent": ranked("agent", agents, "(unassigned)"),
        "speed_by_pool": ranked("pool", pools, "(no pool)"),
        "load": [dict(r) for r in await fetch(_LOAD, entities)],
        "breaches": [dict(r) for r in await fetch(_BREACHES, entities, start)],
        "conversion": conversion,
    }
