"""The desk dashboard's numbers, rolled up by day so that a month of a million leads reads in milliseconds.

`refresh_figures(since)` recomputes the roll-up (`lead_figures_day`) for every day from `since` in one
statement: a cron refreshes today and yesterday every minute and the whole year every hour, so a lead's later
status change (funded a week after intake) is counted within the hour. Replacing whole days, one refresh at a
time (an advisory lock), makes the refresh idempotent and safe to run twice, concurrently or out of order.

Speed to lead is kept as a histogram over geometric bands (each 25 % wider than the last, from 10 s), so the
median and 90th percentile of any span of days are read off the summed bands, interpolated inside the band:
within a few percent of the exact value, which is what a desk reads a dashboard for.
"""

from __future__ import annotations

import datetime as dt

from crm.core.db import fetch, transaction

BAND_START_S, BAND_RATIO, BANDS = 10.0, 1.25, 52
# Upper edges of the bands: [0, 10 s), [10 s, 12.5 s) ... the last band is open-ended (a week and more).
EDGES = [0.0] + [BAND_START_S * BAND_RATIO**k for k in range(BANDS - 1)]
REGISTERED = ("registered", "kyc", "funded")


def _histogram_sql() -> str:
    """ARRAY[count in band 0, count in band 1, ...] over the `band` column of the source rows."""
    return "ARRAY[" + ", ".join(f"count(*) FILTER (WHERE band = {k})" for k in range(BANDS)) + "]::int[]"


_REFRESH = f"""
WITH src AS (
    SELECT (l.created_at AT TIME ZONE 'UTC')::date AS day, l.entity_id, l.owner_id, l.pool_id,
           coalesce(nullif(l.source, ''), '(direct)') AS source, l.status, l.first_contact_at,
           CASE WHEN l.first_contact_at IS NULL THEN NULL
                ELSE width_bucket(extract(epoch FROM l.first_contact_at - l.created_at)::float8,
                                  $2::float8[]) END AS band
    FROM lead l
    WHERE l.created_at >= $1::date AND l.merged_into_id IS NULL
)
INSERT INTO lead_figures_day (day, entity_id, dimension, key, leads, contacted, registered, funded, lost,
                              speed_hist, refreshed_at)
SELECT day, entity_id,
       CASE WHEN GROUPING(owner_id) = 0 THEN 'agent' WHEN GROUPING(pool_id) = 0 THEN 'pool'
            WHEN GROUPING(source) = 0 THEN 'source' ELSE 'all' END,
       CASE WHEN GROUPING(owner_id) = 0 THEN coalesce(owner_id::text, '')
            WHEN GROUPING(pool_id) = 0 THEN coalesce(pool_id::text, '')
            WHEN GROUPING(source) = 0 THEN source ELSE '' END,
       count(*), count(first_contact_at),
       count(*) FILTER (WHERE status = ANY($3::text[])), count(*) FILTER (WHERE status = 'funded'),
       count(*) FILTER (WHERE status = 'lost'),
       {_histogram_sql()}, now()
FROM src
GROUP BY GROUPING SETS ((day, entity_id, owner_id), (day, entity_id, pool_id), (day, entity_id, source),
                        (day, entity_id))
"""  # noqa: S608 (the histogram's columns are generated from constants)


async def refresh_figures(since: dt.date | None = None) -> int:
    """Recompute the roll-up of every day from `since` (default: yesterday, UTC); returns the rows written."""
    since = since or (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1))
    async with transaction():
        # One refresh at a time (the cron, the demo loader, a second worker): two would both delete the days
        # and then collide on inserting them.
        await fetch("SELECT pg_advisory_xact_lock(hashtext('lead_figures_day'))")
        await fetch("DELETE FROM lead_figures_day WHERE day >= $1", since)
        await fetch(_REFRESH, since, EDGES[1:], list(REGISTERED))
        rows = await fetch("SELECT count(*) AS n FROM lead_figures_day WHERE day >= $1", since)
    return rows[0]["n"]


def percentile(hist: list[int], q: float) -> float | None:
    """The q-quantile (0..1) of the speeds counted in `hist`, interpolated inside its band; None if empty."""
    total = sum(hist)
    if not total:
        return None
    rank = q * total
    cumulative = 0
    for k, count in enumerate(hist):
        if count and cumulative + count >= rank:
            low = EDGES[k]
            high = EDGES[k + 1] if k + 1 < len(EDGES) else low * BAND_RATIO
            return low + (high - low) * max(0.0, rank - cumulative) / count
        cumulative += count
    return EDGES[-1]
