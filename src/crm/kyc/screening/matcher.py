"""Screening a name against watchlist entries, every hit explained. Pure: an Index is built from entries in
memory (the service keeps one per list version and process) and answers in a few milliseconds.

How a score is made (docs/kyc.md says why):
1. Candidates: entries sharing, with two of the query's words (one, for a one-word query), a word, a word's
   sound, or a word's first or last four letters, so a typo in one word still finds the entry.
2. Name score: the query's words are paired, in any order, with the entry name's words by Jaro-Winkler
   similarity, of the words as written or folded (kh → h, w → v, doubled letters once ...), at least 0.85 to
   pair (a pair that sounds the same counts at least 0.9); the score is the paired similarity over the
   pairs plus a part for each word left unpaired (0.3 for the entry's: lists carry middle names and
   patronymics a client leaves out; 0.6 for the query's). Every alias of the entry is tried; the best wins.
3. Qualifiers: a date of birth moves the score (same date +0.08, same year +0.04, a year or two apart -0.05,
   further apart -0.15); a country in the entry's +0.03, none of the entry's -0.03; a company entry screened
   as a person -0.10.
A score at or above the threshold is a hit; at or above STRONG it is a strong hit (clearing one needs two).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz.distance import JaroWinkler

from crm.kyc.screening.names import Name, meaningful, sound

THRESHOLD = 0.82
STRONG = 0.92
UNPAIRED_ENTRY, UNPAIRED_QUERY = 0.3, 0.6
PAIRED = 0.85  # two words this similar are one word spelled two ways
COMMON = 1_500  # a word on more entries than this does not find candidates alone


@dataclass(frozen=True)
class Entry:
    """One watchlist entry as the matcher needs it."""

    list_code: str
    key: str  # the list's own id (SDN ent_num, an OpenSanctions id)
    kind: str  # person, entity, vessel, aircraft, unknown
    names: tuple[str, ...]  # the primary name first, then aliases
    birth_dates: tuple[str, ...] = ()  # YYYY-MM-DD, or YYYY where only the year is known
    countries: tuple[str, ...] = ()  # ISO 3166-1 alpha-2, lower case
    programs: tuple[str, ...] = ()
    version: int | None = None  # the entry row (for cleared matches: a changed entry is raised again)


@dataclass
class Hit:
    entry: Entry
    score: float
    name_score: float
    matched: str  # the name or alias that matched
    pairs: list[tuple[str, str, float]]
    unpaired_entry: list[str]
    unpaired_query: list[str]
    qualifiers: list[dict] = field(default_factory=list)

    @property
    def strong(self) -> bool:
        return self.score >= STRONG

    def explain(self) -> dict:
        """What a reviewer reads: which list and entry, which name or alias, which words matched how well,
        what the date of birth and country did, and the score."""
        return {
            "list": self.entry.list_code,
            "entry": self.entry.key,
            "entry_name": self.entry.names[0],
            "matched_name": self.matched,
            "alias": self.matched != self.entry.names[0],
            "kind": self.entry.kind,
            "programs": list(self.entry.programs),
            "score": round(self.score, 3),
            "strong": self.strong,
            "name_score": round(self.name_score, 3),
            "words": [{"query": q, "entry": e, "similarity": round(s, 3)} for q, e, s in self.pairs],
            "entry_words_unmatched": self.unpaired_entry,
            "query_words_unmatched": self.unpaired_query,
            "qualifiers": self.qualifiers,
        }


_FOLDS = (
    ("kh", "h"),
    ("dh", "d"),
    ("gh", "g"),
    ("ph", "f"),
    ("ou", "u"),
    ("oo", "u"),
    ("ee", "i"),
    ("ts", "c"),
    ("w", "v"),
    ("y", "i"),
    ("q", "k"),
    ("c", "k"),
    ("j", "i"),
)


@lru_cache(maxsize=200_000)
def fold(word: str) -> str:
    """The word as transliterations disagree least about it: Хассан, Khassan and Hassan meet at "hassan";
    doubled letters count once."""
    for a, b in _FOLDS:
        word = word.replace(a, b)
    return "".join(ch for i, ch in enumerate(word) if i == 0 or ch != word[i - 1])


def _similarity(a: str, b: str) -> float:
    if a == b:
        return 1.0
    score = max(JaroWinkler.normalized_similarity(a, b), JaroWinkler.normalized_similarity(fold(a), fold(b)))
    if len(a) >= 3 and len(b) >= 3 and sound(a) == sound(b):
        score = max(score, 0.9)
    return score


def name_score(query: Name, candidate: Name) -> tuple[float, list, list, list]:
    """(score, pairs, entry words unpaired, query words unpaired): words paired best-first, in any order."""
    q = meaningful(list(query.tokens)) or list(query.tokens)
    c = meaningful(list(candidate.tokens)) or list(candidate.tokens)
    if not q or not c:
        return 0.0, [], c, q
    scored = sorted(
        ((_similarity(a, b), i, j) for i, a in enumerate(q) for j, b in enumerate(c)), reverse=True
    )
    used_q, used_c, pairs = set(), set(), []
    for s, i, j in scored:
        if i in used_q or j in used_c or s < PAIRED:
            continue
        used_q.add(i)
        used_c.add(j)
        pairs.append((q[i], c[j], s))
    rest_c = [w for j, w in enumerate(c) if j not in used_c]
    rest_q = [w for i, w in enumerate(q) if i not in used_q]
    if not pairs:
        return 0.0, [], rest_c, rest_q
    total = sum(s for _, _, s in pairs)
    score = total / (len(pairs) + UNPAIRED_ENTRY * len(rest_c) + UNPAIRED_QUERY * len(rest_q))
    return score, pairs, rest_c, rest_q


def _dob_effect(query_dob: dt.date | None, entry: Entry) -> dict | None:
    if query_dob is None or not entry.birth_dates:
        return None
    best = None
    for known in entry.birth_dates:
        if len(known) == 10 and known == query_dob.isoformat():
            return {"feature": "date of birth", "effect": 0.08, "why": f"date of birth {known} matches"}
        year = int(known[:4])
        apart = abs(year - query_dob.year)
        effect = 0.04 if apart == 0 else (-0.05 if apart <= 2 else -0.15)
        why = (
            f"born in {year}, as listed"
            if apart == 0
            else f"listed year of birth {year} is {apart} year{'s' if apart > 1 else ''} from "
            f"{query_dob.year}"
        )
        if best is None or effect > best["effect"]:
            best = {"feature": "date of birth", "effect": effect, "why": why}
    return best


def _country_effect(country: str, entry: Entry) -> dict | None:
    if not country or not entry.countries:
        return None
    if country.lower() in entry.countries:
        return {
            "feature": "country",
            "effect": 0.03,
            "why": f"{country.upper()} is among the entry's countries",
        }
    return {
        "feature": "country",
        "effect": -0.03,
        "why": f"{country.upper()} is not among the entry's countries "
        f"({', '.join(c.upper() for c in entry.countries)})",
    }


class Index:
    """Every name and alias of a set of entries, indexed by word, sound and first four letters."""

    def __init__(self, entries: list[Entry]):
        self.entries = entries
        self.names: list[tuple[int, Name]] = []
        self.postings: dict[str, set[int]] = defaultdict(set)
        for e, entry in enumerate(entries):
            for text in dict.fromkeys(entry.names):
                prepared = Name.of(text)
                if not prepared.tokens:
                    continue
                n = len(self.names)
                self.names.append((e, prepared))
                for word in meaningful(list(prepared.tokens)) or list(prepared.tokens):
                    for feature in self._features(word):
                        self.postings[feature].add(n)

    @staticmethod
    def _features(word: str) -> tuple[str, ...]:
        folded = fold(word)
        long = (f"p:{folded[:4]}", f"x:{folded[-4:]}") if len(folded) >= 5 else ()
        return (f"w:{folded}", f"s:{sound(word)}", f"s:{sound(folded)}", *long)

    def _candidates(self, query: Name) -> set[int]:
        words = meaningful(list(query.tokens)) or list(query.tokens)
        per_word: list[set[int]] = []
        for word in dict.fromkeys(words):
            found: set[int] = set()
            for feature in self._features(word):
                posting = self.postings.get(feature)
                if posting and len(posting) <= COMMON:
                    found |= posting
            per_word.append(found)
        counts: dict[int, int] = defaultdict(int)
        for found in per_word:
            for n in found:
                counts[n] += 1
        need = 1 if len(per_word) == 1 else 2
        return {n for n, k in counts.items() if k >= need}

    def screen(
        self,
        name: str,
        *,
        dob: dt.date | None = None,
        country: str = "",
        person: bool = True,
        threshold: float = THRESHOLD,
        limit: int = 10,
    ) -> list[Hit]:
        """The entries this name may be, best first, each with its explanation (at most one hit per entry)."""
        query = Name.of(name)
        if not query.tokens:
            return []
        best: dict[int, Hit] = {}
        for n in self._candidates(query):
            e, candidate = self.names[n]
            entry = self.entries[e]
            if person and entry.kind in ("vessel", "aircraft"):
                continue
            score, pairs, rest_c, rest_q = name_score(query, candidate)
            if score < threshold - 0.2:
                continue
            qualifiers = [q for q in (_dob_effect(dob, entry), _country_effect(country, entry)) if q]
            if person and entry.kind == "entity":
                qualifiers.append(
                    {"feature": "kind", "effect": -0.1, "why": "the entry is a company, not a person"}
                )
            final = max(0.0, min(1.0, score + sum(q["effect"] for q in qualifiers)))
            if final < threshold:
                continue
            hit = Hit(entry, final, score, candidate.text, pairs, rest_c, rest_q, qualifiers)
            if e not in best or hit.score > best[e].score:
                best[e] = hit
        return sorted(best.values(), key=lambda h: (-h.score, h.entry.key))[:limit]
