"""Each pool member's recent conversion, the factor pools shared "by performance" weigh agents by; recomputed
by an hourly cron (idempotent)."""

from __future__ import annotations

from crm.core.db import current_connection, transaction

PERFORMANCE_DAYS = 30
PERFORMANCE_MIN_LEADS = 10  # fewer leads than this in the window: no judgement (factor 1)

# Each member's conversion (leads they were routed from the pool in the window that reached registered, KYC or
# funded) against the pool's average member, clamped to 0.25-2; 1 without enough leads. Written only if
# changed.
_PERFORMANCE = """
WITH stats AS (
    SELECT m.id, m.pool,
           count(l.id) AS routed,
           count(l.id) FILTER (WHERE l.status IN ('registered', 'kyc', 'funded')) AS converted
    FROM lead_pool_member m
    LEFT JOIN lead l ON l.owner_id = m.agent_id AND l.pool_id = m.pool AND l.merged_into_id IS NULL
                    AND l.routed_at > now() - make_interval(days => $1)
    GROUP BY m.id, m.pool
), rates AS (
    SELECT id, pool, CASE WHEN routed >= $2 THEN converted::float8 / routed END AS rate FROM stats
), averages AS (
    SELECT pool, avg(rate) AS average FROM rates WHERE rate IS NOT NULL GROUP BY pool
), factors AS (
    SELECT r.id, CASE WHEN r.rate IS NULL OR coalesce(a.average, 0) = 0 THEN 1.0
                      ELSE round(least(2.0, greatest(0.25, r.rate / a.average))::numeric,
                          2)::float8 END AS factor
    FROM rates r LEFT JOIN averages a ON a.pool = r.pool
)
UPDATE lead_pool_member m SET performance = f.factor FROM factors f
WHERE m.id = f.id AND m.performance IS DISTINCT FROM f.factor
"""


async def refresh_performance() -> int:
    """Cron (hourly): recompute every pool member's performance factor; returns how many changed. A computed
    figure, not a rule: it is logged as an automation run, and the rule that uses it (a pool's sharing mode)
    is audited where it is set."""
    async with transaction():
        status = await current_connection().execute(_PERFORMANCE, PERFORMANCE_DAYS, PERFORMANCE_MIN_LEADS)
    return int(status.rsplit(" ", 1)[1])
