"""The scoring and routing rules, evaluated as pure functions of a lead's facts (no database here).

Scoring rules (a rule set of kind "scoring"): `{"rules": [{"name", "field", "op", "value", "points"}]}`; the
score is the sum of the points of every rule that holds, with each contribution kept for the lead's page.

Routing rules (kind "routing"):
    {"overrides": {"returning_client": true, "ib_manager": true, "vip_min_score": 80, "vip_pool_id": 3},
     "rules": [{"name": "LatAm Spanish", "when": {"regions": ["LATAM"], "languages": ["es"], "sources": [],
                "countries": [], "brands": [], "score_min": null, "score_max": null, "ib_referred": null,
                "hours": null}, "pool_id": 2}],
     "fallback_pool_id": 1}
Rules are tried in order; the first whose every condition holds names the pool. An empty condition matches
anything. `hours` is [from, to) in the entity's local hours and may cross midnight ([22, 6]).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crm.core.labels import LABELS

# Reference geography for region conditions (ISO 3166 alpha-2).
REGIONS: dict[str, frozenset[str]] = {
    "EU": frozenset(
        "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE".split()
    ),
    "EEA_OTHER": frozenset("IS LI NO CH GB".split()),
    "MENA": frozenset("AE BH DZ EG IQ IL JO KW LB LY MA OM PS QA SA SY TN TR YE IR".split()),
    "LATAM": frozenset("AR BO BR CL CO CR CU DO EC SV GT HN MX NI PA PY PE PR UY VE".split()),
    "APAC": frozenset("AU BD CN HK ID IN JP KH KR LK MY MM NZ PH PK SG TH TW VN".split()),
    "AFRICA": frozenset("AO BW CM CI ET GH KE MG MU MW MZ NA NG RW SN TZ UG ZA ZM ZW".split()),
    "NORTH_AMERICA": frozenset("US CA".split()),
    "CIS": frozenset("AM AZ BY GE KZ KG MD RU TJ TM UA UZ".split()),
}
LABELS.add(
    "region",
    {
        "EU": "European Union",
        "EEA_OTHER": "Rest of Europe (EEA, CH, UK)",
        "MENA": "Middle East & North Africa",
        "LATAM": "Latin America",
        "APAC": "Asia-Pacific",
        "AFRICA": "Sub-Saharan Africa",
        "NORTH_AMERICA": "North America",
        "CIS": "CIS",
    },
)

SCORING_FIELDS: dict[str, str] = {
    # field: kind (text, bool, number)
    "source": "text",
    "country": "text",
    "language": "text",
    "campaign": "text",
    "brand": "text",
    "utm_medium": "text",
    "region": "text",
    "form_complete": "bool",
    "has_phone": "bool",
    "has_email": "bool",
    "ib_referred": "bool",
    "kyc_started": "bool",
    "demo_sessions": "number",
    "returning_client": "bool",
}
OPS = {
    "eq": "is",
    "ne": "is not",
    "in": "is one of",
    "not_in": "is none of",
    "gte": "≥",
    "lte": "≤",
    "true": "is yes",
    "false": "is no",
}


@dataclass(frozen=True)
class Facts:
    """What the rules may look at for one lead."""

    country: str = ""
    language: str = ""
    source: str = ""
    campaign: str = ""
    brand: str = ""
    utm_medium: str = ""
    entity_code: str = ""
    form_complete: bool = False
    has_phone: bool = False
    has_email: bool = False
    ib_referred: bool = False
    kyc_started: bool = False
    demo_sessions: int = 0
    returning_client: bool = False
    score: int = 0
    local_hour: int = 0

    @property
    def region(self) -> str:
        return next((name for name, countries in REGIONS.items() if self.country in countries), "")

    def value(self, name: str) -> Any:
        return self.region if name == "region" else getattr(self, name)


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip().lower() for v in value.split(",") if v.strip()]
    return [str(v).strip().lower() for v in value or []]


def _holds(actual: Any, op: str, expected: Any) -> bool:
    if op == "true":
        return bool(actual)
    if op == "false":
        return not actual
    if op in ("gte", "lte"):
        try:
            a, e = float(actual or 0), float(expected)
        except (TypeError, ValueError):
            return False
        return a >= e if op == "gte" else a <= e
    text = str(actual).lower()
    if op == "eq":
        return text == str(expected).strip().lower()
    if op == "ne":
        return text != str(expected).strip().lower()
    if op == "in":
        return text in _as_list(expected)
    if op == "not_in":
        return text not in _as_list(expected)
    return False


@dataclass(frozen=True)
class Contribution:
    rule: str
    points: int


def score(rules: list[dict], facts: Facts) -> tuple[int, list[Contribution]]:
    """The lead's score (clamped to 0..100) and the rules that contributed."""
    contributions = [
        Contribution(r.get("name") or r["field"], int(r.get("points") or 0))
        for r in rules
        if r.get("field") in SCORING_FIELDS
        and _holds(facts.value(r["field"]), r.get("op", "eq"), r.get("value"))
    ]
    return max(0, min(100, sum(c.points for c in contributions))), contributions


def in_hours(hours: list | None, local_hour: int) -> bool:
    if not hours:
        return True
    start, end = int(hours[0]), int(hours[1])
    return start <= local_hour < end if start <= end else (local_hour >= start or local_hour < end)


def rule_matches(when: dict, facts: Facts) -> bool:
    checks = (
        (_as_list(when.get("countries")), facts.country.lower()),
        (_as_list(when.get("languages")), facts.language.lower()),
        (_as_list(when.get("sources")), facts.source.lower()),
        (_as_list(when.get("brands")), facts.brand.lower()),
        (_as_list(when.get("entities")), facts.entity_code.lower()),
    )
    if any(allowed and value not in allowed for allowed, value in checks):
        return False
    regions = [r.upper() for r in _as_list(when.get("regions"))]
    if regions and not any(facts.country in REGIONS.get(r, ()) for r in regions):
        return False
    if when.get("score_min") not in (None, "") and facts.score < int(when["score_min"]):
        return False
    if when.get("score_max") not in (None, "") and facts.score > int(when["score_max"]):
        return False
    if when.get("ib_referred") is not None and bool(when["ib_referred"]) != facts.ib_referred:
        return False
    return in_hours(when.get("hours"), facts.local_hour)


@dataclass(frozen=True)
class PoolChoice:
    pool_id: int | None
    matched: str  # the rule's name, or "override: …", or "fallback", or "no rule"


def choose_pool(rule_set: dict, facts: Facts) -> PoolChoice:
    """The pool for a lead by the ordered rules (overrides are handled by the router, which needs people)."""
    overrides = rule_set.get("overrides") or {}
    vip_min = overrides.get("vip_min_score")
    if vip_min not in (None, "") and overrides.get("vip_pool_id") and facts.score >= int(vip_min):
        return PoolChoice(int(overrides["vip_pool_id"]), f"override: VIP (score ≥ {vip_min})")
    for n, rule in enumerate(rule_set.get("rules") or [], start=1):
        if rule.get("pool_id") and rule_matches(rule.get("when") or {}, facts):
            return PoolChoice(int(rule["pool_id"]), rule.get("name") or f"rule {n}")
    if rule_set.get("fallback_pool_id"):
        return PoolChoice(int(rule_set["fallback_pool_id"]), "fallback (no rule matched)")
    return PoolChoice(None, "no rule matched and no fallback pool")


# ---- agents: shifts, presence, capacity, weighted round-robin ---------------------------------------------

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def on_shift(hours: dict, timezone: str, days_off: set[dt.date], now: dt.datetime) -> tuple[bool, str]:
    """Whether an agent works at `now` (UTC): today's spans in their time zone, or yesterday's span that runs
    past midnight. A day off cancels the shifts that start on it."""
    local = now.astimezone(zone(timezone))
    minute = local.hour * 60 + local.minute
    today, yesterday = local.date(), local.date() - dt.timedelta(days=1)
    for day, spans, after_midnight in (
        (today, hours.get(DAYS[today.weekday()]) or [], False),
        (yesterday, hours.get(DAYS[yesterday.weekday()]) or [], True),
    ):
        for start_s, end_s in spans:
            start, end = _minutes(start_s), _minutes(end_s)
            crosses = end <= start
            if after_midnight:
                inside = crosses and minute < end
            else:
                inside = (start <= minute < end) if not crosses else minute >= start
            if inside:
                if day in days_off:
                    return False, f"day off ({day.isoformat()})"
                return True, f"on shift {start_s}–{end_s} {timezone}"
    return False, f"off shift ({local.strftime('%a %H:%M')} {timezone})"


@dataclass
class Candidate:
    agent_id: int
    name: str
    weight: int = 1
    max_open: int = 50
    open_leads: int = 0
    presence: str = "offline"
    on_shift: bool = True
    shift_note: str = ""
    assigned_count: int = 0
    last_assigned_at: dt.datetime | None = None
    active: bool = True
    excluded: str = ""
    performance: float = 1.0
    eligible: bool = field(default=False)
    reason: str = ""

    def check(self) -> Candidate:
        problems = []
        if not self.active:
            problems.append("inactive in the pool")
        if self.excluded:
            problems.append(self.excluded)
        if self.weight <= 0:
            problems.append("weight 0")
        if self.presence != "available":
            problems.append(self.presence)
        if not self.on_shift:
            problems.append(self.shift_note or "off shift")
        if self.open_leads >= self.max_open:
            problems.append(f"at capacity ({self.open_leads}/{self.max_open})")
        self.eligible = not problems
        self.reason = (
            "; ".join(problems)
            if problems
            else (
                f"available, {self.shift_note or 'on shift'}, {self.open_leads}/{self.max_open} open, weight "
                f"{self.weight}"
            )
        )
        return self


# How a pool shares its leads among the eligible (the pool's `weighting`).
SHARING = {
    "manual": "by weight: the one furthest behind their weighted share",
    "performance": "by weight × recent conversion: the one furthest behind that share",
    "workload": "by workload: the least loaded (open leads against capacity), then by weight",
}


def share_key(candidate: Candidate, sharing: str = "manual") -> tuple:
    """Smaller goes first. Ties go to whoever waited longest, then the lower id, so the choice is
    deterministic."""
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    weight = candidate.weight * (candidate.performance if sharing == "performance" else 1.0)
    share = (candidate.assigned_count + 1) / weight
    tie = (candidate.last_assigned_at or epoch, candidate.agent_id)
    if sharing == "workload":
        return (candidate.open_leads / candidate.max_open, share, *tie)
    return (share, *tie)


def pick(candidates: list[Candidate], sharing: str = "manual") -> Candidate | None:
    """Weighted round-robin among eligible agents, in the pool's sharing mode (SHARING)."""
    eligible = [c for c in (c.check() for c in candidates) if c.eligible]
    if not eligible:
        return None
    return min(eligible, key=lambda c: share_key(c, sharing))
