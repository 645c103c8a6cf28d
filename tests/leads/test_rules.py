"""The rules as pure functions: normalisation, scoring, pool choice (geo, language, score, hours, overrides,
fallback), shifts across time zones and midnight, and the weighted round-robin with capacity."""

import datetime as dt

from crm.leads import rules
from crm.leads.normalise import clean
from crm.leads.rules import Candidate, Facts, choose_pool, on_shift, pick, score


def test_normalisation_e164_iso_country_language_and_field_errors():
    lead, errors = clean(
        {
            "first_name": " Ana  María ",
            "email": "Ana@Example.ES",
            "phone": "612 345 678",
            "country": "Spain",
            "language": "Spanish",
            "utm_source": "Facebook",
            "utm_campaign": "Q4",
        }
    )
    assert errors == {}
    assert (lead.first_name, lead.phone, lead.country, lead.language) == (
        "Ana María",
        "+34612345678",
        "ES",
        "es",
    )
    assert lead.email_key == "ana@example.es" and lead.source == "facebook" and lead.campaign == "Q4"
    lead, errors = clean({"first_name": "Ali", "phone": "+971 50 123 4567", "language": "ar-AE"})
    assert errors == {} and lead.country == "AE" and lead.language == "ar"  # country from the phone number
    _, errors = clean({"phone": "123", "country": "Narnia", "date_of_birth": "2015-01-01", "email": "nope"})
    assert set(errors) == {"phone", "country", "date_of_birth", "email", "first_name"}
    assert "18 or older" in errors["date_of_birth"]
    _, errors = clean({"first_name": "X", "country": "DE"})
    assert "e-mail address or a phone" in errors["email"]


SCORING = [
    {"name": "Full form", "field": "form_complete", "op": "true", "points": 30},
    {"name": "Paid search", "field": "source", "op": "in", "value": "google, bing", "points": 20},
    {"name": "Tier-1 country", "field": "country", "op": "in", "value": ["DE", "GB", "AE"], "points": 15},
    {"name": "KYC started", "field": "kyc_started", "op": "true", "points": 25},
    {"name": "Demo user", "field": "demo_sessions", "op": "gte", "value": 3, "points": 10},
    {"name": "Bad field", "field": "nonexistent", "op": "true", "points": 99},
]


def test_score_sums_contributions_and_clamps():
    total, parts = score(SCORING, Facts(form_complete=True, source="google", country="DE", demo_sessions=4))
    assert total == 75 and [p.rule for p in parts] == [
        "Full form",
        "Paid search",
        "Tier-1 country",
        "Demo user",
    ]
    total, parts = score(
        SCORING + [{"name": "x", "field": "country", "op": "eq", "value": "de", "points": 90}],
        Facts(form_complete=True, country="DE", kyc_started=True),
    )
    assert total == 100
    assert score(SCORING, Facts())[0] == 0


ROUTING = {
    "overrides": {"vip_min_score": 90, "vip_pool_id": 9},
    "rules": [
        {"name": "Arabic MENA", "when": {"regions": ["MENA"], "languages": ["ar"]}, "pool_id": 1},
        {"name": "LatAm Spanish", "when": {"regions": ["LATAM"], "languages": ["es"]}, "pool_id": 2},
        {"name": "Hot paid leads", "when": {"sources": ["google"], "score_min": 60}, "pool_id": 3},
        {"name": "IB partners", "when": {"ib_referred": True}, "pool_id": 4},
        {"name": "Night desk", "when": {"hours": [22, 6]}, "pool_id": 5},
    ],
    "fallback_pool_id": 7,
}


def test_pool_choice_by_geo_language_score_ib_hours_vip_and_fallback():
    assert choose_pool(ROUTING, Facts(country="AE", language="ar", local_hour=12)).pool_id == 1
    assert (
        choose_pool(ROUTING, Facts(country="AE", language="en", local_hour=12)).pool_id == 7
    )  # language must match too
    assert choose_pool(ROUTING, Facts(country="MX", language="es", local_hour=12)).matched == "LatAm Spanish"
    assert choose_pool(ROUTING, Facts(country="DE", source="google", score=60, local_hour=12)).pool_id == 3
    assert choose_pool(ROUTING, Facts(country="DE", source="google", score=59, local_hour=12)).pool_id == 7
    assert choose_pool(ROUTING, Facts(country="DE", ib_referred=True, local_hour=12)).pool_id == 4
    assert choose_pool(ROUTING, Facts(country="DE", local_hour=23)).pool_id == 5  # crosses midnight
    assert choose_pool(ROUTING, Facts(country="DE", local_hour=5)).pool_id == 5
    assert choose_pool(ROUTING, Facts(country="DE", local_hour=6)).pool_id == 7
    vip = choose_pool(ROUTING, Facts(country="AE", language="ar", score=95))
    assert vip.pool_id == 9 and vip.matched.startswith("override: VIP")
    assert choose_pool({"rules": []}, Facts()).pool_id is None


WEEK = {"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "fri": [["22:00", "06:00"]]}


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_shifts_in_the_agents_time_zone_across_midnight_and_days_off():
    # Monday 2026-11-23 08:30 UTC is 10:30 in Nicosia (UTC+2): on shift there, not in New York (03:30)
    assert on_shift(WEEK, "Asia/Nicosia", set(), utc(2026, 11, 23, 8, 30))[0]
    assert not on_shift(WEEK, "America/New_York", set(), utc(2026, 11, 23, 8, 30))[0]
    assert on_shift(WEEK, "America/New_York", set(), utc(2026, 11, 23, 14, 30))[0]  # 09:30 EST
    # Friday night shift 22:00–06:00 Madrid: Saturday 03:00 local is still Friday's shift
    assert on_shift(WEEK, "Europe/Madrid", set(), utc(2026, 11, 28, 2, 0))[0]
    assert not on_shift(WEEK, "Europe/Madrid", set(), utc(2026, 11, 28, 6, 0))[0]  # 07:00 local
    assert on_shift(WEEK, "Europe/Madrid", set(), utc(2026, 11, 27, 21, 30))[0]  # 22:30 Friday
    # a day off cancels the shifts that start on it, including their hours after midnight
    assert not on_shift(WEEK, "Europe/Madrid", {dt.date(2026, 11, 27)}, utc(2026, 11, 28, 2, 0))[0]
    working, note = on_shift(WEEK, "Asia/Nicosia", {dt.date(2026, 11, 23)}, utc(2026, 11, 23, 8, 30))
    assert not working and "day off" in note
    assert on_shift(WEEK, "Not/AZone", set(), utc(2026, 11, 23, 10, 0))[0]  # unknown zone reads as UTC


def test_weighted_round_robin_respects_weights_presence_shift_and_capacity():
    agents = [
        Candidate(1, "A", weight=3, max_open=100, presence="available"),
        Candidate(2, "B", weight=1, max_open=100, presence="available"),
        Candidate(3, "C", weight=5, presence="away"),
        Candidate(4, "D", weight=5, presence="available", on_shift=False, shift_note="off shift"),
    ]
    given = {1: 0, 2: 0}
    for _ in range(100):
        chosen = pick(agents)
        given[chosen.agent_id] += 1
        chosen.assigned_count += 1
        chosen.open_leads += 1
    assert given == {1: 75, 2: 25}
    assert "away" in agents[2].reason and "off shift" in agents[3].reason
    full = [Candidate(1, "A", max_open=2, open_leads=2, presence="available")]
    assert pick(full) is None and "at capacity (2/2)" in full[0].reason
    tie = [
        Candidate(5, "E", presence="available"),
        Candidate(6, "F", presence="available", last_assigned_at=utc(2026, 1, 1)),
    ]
    assert pick(tie).agent_id == 5  # never assigned waits longest


def test_sharing_by_performance_and_by_workload():
    def desk():
        return [
            Candidate(1, "Strong", max_open=100, presence="available", performance=2.0),
            Candidate(2, "Average", max_open=100, presence="available"),
            Candidate(3, "Busy", max_open=100, open_leads=40, presence="available"),
        ]

    def deal(sharing, n):
        agents, given = desk(), {1: 0, 2: 0, 3: 0}
        for _ in range(n):
            chosen = pick(agents, sharing)
            given[chosen.agent_id] += 1
            chosen.assigned_count += 1
            chosen.open_leads += 1
        return given

    assert deal("manual", 30) == {1: 10, 2: 10, 3: 10}  # equal weights, equal shares
    assert deal("performance", 40) == {1: 20, 2: 10, 3: 10}  # twice the pool's conversion: twice the share
    assert deal("workload", 30) == {
        1: 15,
        2: 15,
        3: 0,
    }  # the least loaded first: Busy waits until the others reach 40
    assert set(rules.SHARING) == {"manual", "performance", "workload"}


def test_regions_cover_the_seeds_examples():
    assert "AE" in rules.REGIONS["MENA"] and "MX" in rules.REGIONS["LATAM"] and "DE" in rules.REGIONS["EU"]
