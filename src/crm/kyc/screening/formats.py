"""Watchlists in their published formats, read into matcher entries. Pure parsers, one per format:
- OFAC SDN `sdn.csv`: ent_num, name, type, programs, …, remarks; aliases ("a.k.a.", "f.k.a."), dates of birth,
  nationality, citizenship and places of birth are read from the remarks.
- OpenSanctions `targets.simple.csv`: id, schema, name, aliases (";"), birth_date, countries (";").
- FollowTheMoney JSON lines (OpenSanctions' entities): Person, Organization, Company, LegalEntity, Vessel and
  Airplane targets with their name, alias, weakAlias, birthDate, nationality and country properties.
Another list (EU, UN, UK XML) plugs in as one more function returning entries (FORMATS)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from functools import lru_cache

import pycountry

from crm.kyc.screening.matcher import Entry

MONTHS = {m: i for i, m in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split(), start=1)}
_ALIAS = re.compile(r"\b[fa]\.k\.a\.,?\s*'([^']+)'", re.I)
_DOB = re.compile(r"\bDOB\s+(?:circa\s+)?((?:\d{1,2}\s+)?(?:[A-Za-z]{3}\s+)?\d{4})", re.I)
_NATIONAL = re.compile(r"\b(?:nationality|citizen)\s+([A-Za-z ,.'()-]+?)(?:;|\.$|$)", re.I)
_POB = re.compile(r"\bPOB\s+([^;]+)", re.I)
_KIND = {"individual": "person", "vessel": "vessel", "aircraft": "aircraft"}
FTM_KINDS = {
    "Person": "person",
    "Organization": "entity",
    "Company": "entity",
    "LegalEntity": "entity",
    "PublicBody": "entity",
    "Vessel": "vessel",
    "Airplane": "aircraft",
}


@lru_cache(maxsize=4096)
def country_code(name: str) -> str | None:
    """An ISO 3166-1 alpha-2 code (lower case) for a country as lists write it, or None."""
    text = name.strip().strip(".").strip()
    if not text:
        return None
    if len(text) == 2 and text.isalpha():
        found = pycountry.countries.get(alpha_2=text.upper())
        return found.alpha_2.lower() if found else None
    aliases = {
        "russia": "ru",
        "iran": "ir",
        "syria": "sy",
        "north korea": "kp",
        "korea, north": "kp",
        "south korea": "kr",
        "burma": "mm",
        "venezuela": "ve",
        "bolivia": "bo",
        "tanzania": "tz",
        "vietnam": "vn",
        "laos": "la",
        "moldova": "md",
        "west bank": "ps",
        "gaza": "ps",
        "palestinian": "ps",
        "kosovo": "xk",
        "turkey": "tr",
        "czech republic": "cz",
        "congo, democratic republic of the": "cd",
        "united kingdom": "gb",
        "uk": "gb",
        "united states": "us",
        "usa": "us",
        "crimea": "ua",
        "taiwan": "tw",
    }
    if text.lower() in aliases:
        return aliases[text.lower()]
    try:
        return pycountry.countries.lookup(text).alpha_2.lower()
    except LookupError:
        try:
            return pycountry.countries.search_fuzzy(text)[0].alpha_2.lower()
        except LookupError:
            return None


def _date(text: str) -> str | None:
    parts = text.split()
    try:
        if len(parts) == 3:
            return f"{int(parts[2]):04d}-{MONTHS[parts[1][:3].lower()]:02d}-{int(parts[0]):02d}"
        if len(parts) == 2:
            return parts[1]  # month and year: the year is what compares
        return f"{int(parts[0]):04d}"
    except (KeyError, ValueError):
        return None


def _null(value: str) -> str:
    return "" if value.strip() in ("-0-", "") else value.strip()


def parse_sdn(text: str) -> list[Entry]:
    entries = []
    for row in csv.reader(io.StringIO(text)):
        if len(row) < 12 or not row[0].strip().isdigit():
            continue
        ent_num, name, kind, program, remarks = (
            row[0].strip(),
            _null(row[1]),
            _null(row[2]),
            _null(row[3]),
            _null(row[11]),
        )
        if not name:
            continue
        aliases = [a.strip() for a in _ALIAS.findall(remarks)]
        dobs = [d for d in (_date(m) for m in _DOB.findall(remarks)) if d]
        countries = [c for c in (country_code(m) for m in _NATIONAL.findall(remarks)) if c]
        for place in _POB.findall(remarks):
            code = country_code(place.split(",")[-1])
            if code:
                countries.append(code)
        entries.append(
            Entry(
                list_code="ofac_sdn",
                key=ent_num,
                kind=_KIND.get(kind.lower(), "entity"),
                names=tuple(dict.fromkeys([name, *aliases])),
                birth_dates=tuple(dict.fromkeys(dobs)),
                countries=tuple(dict.fromkeys(countries)),
                programs=tuple(p.strip() for p in re.split(r"\]\s*\[|;", program.strip("[]")) if p.strip()),
            )
        )
    return entries


def _split(value: str) -> list[str]:
    return [v.strip() for v in (value or "").split(";") if v.strip()]


def parse_simple(text: str, list_code: str = "opensanctions") -> list[Entry]:
    entries = []
    for row in csv.DictReader(io.StringIO(text)):
        name = (row.get("name") or "").strip()
        if not name or not row.get("id"):
            continue
        entries.append(
            Entry(
                list_code=list_code,
                key=row["id"].strip(),
                kind=FTM_KINDS.get((row.get("schema") or "").strip(), "unknown"),
                names=tuple(dict.fromkeys([name, *_split(row.get("aliases", ""))])),
                birth_dates=tuple(d[:10] for d in _split(row.get("birth_date", ""))),
                countries=tuple(c.lower() for c in _split(row.get("countries", "")) if len(c) == 2),
                programs=tuple(_split(row.get("sanctions", "")))[:5],
            )
        )
    return entries


def parse_ftm(text: str, list_code: str = "opensanctions") -> list[Entry]:
    entries = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        kind = FTM_KINDS.get(item.get("schema", ""))
        if kind is None or item.get("target") is False:
            continue
        props = item.get("properties") or {}
        names = [*props.get("name", []), *props.get("alias", []), *props.get("weakAlias", [])]
        if not names and item.get("caption"):
            names = [item["caption"]]
        if not names or not item.get("id"):
            continue
        countries = [c.lower() for k in ("nationality", "citizenship", "country") for c in props.get(k, [])]
        entries.append(
            Entry(
                list_code=list_code,
                key=str(item["id"]),
                kind=kind,
                names=tuple(dict.fromkeys(n.strip() for n in names if n.strip())),
                birth_dates=tuple(dict.fromkeys(d[:10] for d in props.get("birthDate", []))),
                countries=tuple(dict.fromkeys(c for c in countries if len(c) == 2)),
                programs=tuple(props.get("topics", []))[:5],
            )
        )
    return entries


FORMATS: dict[str, Callable[..., list[Entry]]] = {"sdn": parse_sdn, "simple": parse_simple, "ftm": parse_ftm}
