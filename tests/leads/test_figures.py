"""The dashboard roll-up: percentiles read off the bands stay close to the exact ones, and a refresh run twice
(or for overlapping days) leaves the same rows."""

import random
import statistics

from crm.core.db import fetch
from crm.leads import service
from crm.leads.figures import BANDS, EDGES, percentile, refresh_figures
from tests.leads.factories import raw_lead
from tests.leads.test_workspace import INTAKE, world


def test_band_percentiles_are_within_a_band_of_the_exact_value():
    rng = random.Random(7)
    speeds = [rng.expovariate(1 / 300) for _ in range(20_000)]
    hist = [0] * BANDS
    for s in speeds:
        k = max(i for i, edge in enumerate(EDGES) if edge <= s)
        hist[k] += 1
    for q in (0.5, 0.9):
        exact = statistics.quantiles(speeds, n=100)[int(q * 100) - 1]
        assert abs(percentile(hist, q) - exact) / exact < 0.05, (q, percentile(hist, q), exact)
    assert percentile([0] * BANDS, 0.5) is None


async def test_a_refresh_replaces_whole_days_and_is_idempotent(app):
    await world()
    for n in range(3):
        lead = (await service.intake(INTAKE, raw_lead(30 + n), channel="api")).lead
        await fetch(
            "UPDATE lead SET first_contact_at = created_at + interval '45 seconds' WHERE id = $1", lead["id"]
        )
    first = await refresh_figures()
    rows = [dict(r) for r in await fetch("SELECT * FROM lead_figures_day ORDER BY dimension, key")]
    assert await refresh_figures() == first
    again = [dict(r) for r in await fetch("SELECT * FROM lead_figures_day ORDER BY dimension, key")]
    strip = lambda rs: [{k: v for k, v in r.items() if k not in ("id", "refreshed_at")} for r in rs]  # noqa: E731
    assert strip(rows) == strip(again)
    whole = next(r for r in rows if r["dimension"] == "all")
    assert whole["leads"] == 3 and whole["contacted"] == 3 and sum(whole["speed_hist"]) == 3


async def test_concurrent_refreshes_wait_for_each_other(app):
    import asyncio

    await world()
    for n in range(3):
        await service.intake(INTAKE, raw_lead(40 + n), channel="api")
    counts = await asyncio.gather(*(refresh_figures() for _ in range(4)))
    assert len(set(counts)) == 1 and counts[0] > 0
