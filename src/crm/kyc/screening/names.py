"""Names as the matcher compares them. A name in any script becomes Latin letters (anyascii: Путин → Putin,
محمد → mhmd), lower case, without punctuation, honorifics ("Dr.", "Shaykh", "Haji") or legal forms ("LLC",
"S.A.", "OOO"); its words are compared in any order, each also by its sound (Metaphone), so Mohammed and
Muhammad, or Abdelrahman and Abd al-Rahman, land close. Pure functions: no database, no I/O."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import jellyfish
from anyascii import anyascii

# Words that say who someone is rather than which one: dropped before comparing.
HONORIFICS = frozenset(
    """mr mrs ms miss mx dr prof sir dame lord lady sheikh shaykh sheik shaikh haji hajji hajj sayyid sayed
    syed imam mullah mawlawi maulvi mufti general gen colonel col major maj captain capt lieutenant lt
    admiral adm brigadier commander cmdr sergeant sgt ayatollah hojatoleslam excellency his her honorable
    hon rev reverend father fr bishop emir amir prince princess king queen""".split()
)
# Legal forms (and their usual abbreviations) in the languages sanctions lists are written in.
LEGAL_FORMS = frozenset(
    """llc ltd limited inc incorporated corp corporation co company plc lp llp sa sas sarl srl spa bv nv
    gmbh ag kg ohg oy ab as asa aps jsc ojsc cjsc pjsc ooo oao zao pao tov fze fzco fzc fzllc pte pty
    bhd sdn cia ltda sae eirl jv group holding holdings""".split()
)
# Particles that a name may carry or drop (al-Rahman, Abd al Rahman, van der Berg): kept in the name, but a
# match on them alone means nothing.
PARTICLES = frozenset(
    """al el ul ad ar as at az bin ibn bint ben abu abou um umm de da del della der den van von la le di
    du""".split()
)
_NON_WORD = re.compile(r"[^a-z0-9]+")


def latin(text: str) -> str:
    """Any script as plain Latin letters, lower case."""
    decomposed = unicodedata.normalize("NFKC", text or "")
    return anyascii(decomposed).lower()


def words(text: str) -> list[str]:
    """The name's words, transliterated, without honorifics and legal forms (kept when nothing else is left:
    a company called "Holding Ltd" is still a name)."""
    raw = [w for w in _NON_WORD.split(latin(text)) if w]
    # "Abd al-Rahman" and "Abdelrahman" meet half-way: glue "abd"/"abdul"/"abdel" to the next word
    glued: list[str] = []
    skip = False
    for i, w in enumerate(raw):
        if skip:
            skip = False
            continue
        if w in ("abd", "abdul", "abdel", "abdal", "abdol") and i + 1 < len(raw):
            nxt = raw[i + 1]
            if nxt in ("al", "el", "ul", "ar", "ur", "as", "ad") and i + 2 < len(raw):
                glued.append("abd" + raw[i + 2])
                raw[i + 2] = ""
            else:
                glued.append("abd" + nxt)
            skip = True
            continue
        if w.startswith(("abdul", "abdel", "abdal", "abdol")) and len(w) > 6:
            w = "abd" + w[5:]
        if w:
            glued.append(w)
    kept = [w for w in glued if w not in HONORIFICS and w not in LEGAL_FORMS]
    return kept or glued


def key(text: str) -> str:
    """The name's words in a fixed order: the same name written in another order gives the same key."""
    return " ".join(sorted(words(text)))


@lru_cache(maxsize=200_000)
def sound(word: str) -> str:
    """The word's Metaphone code (digits stay as they are)."""
    if word.isdigit():
        return word
    return jellyfish.metaphone(word) or word


def meaningful(tokens: list[str]) -> list[str]:
    """The words that say which person or company it is: not particles, not single letters."""
    return [t for t in tokens if t not in PARTICLES and len(t) > 1]


@dataclass(frozen=True)
class Name:
    """A name prepared once for comparing."""

    text: str  # as written
    tokens: tuple[str, ...]  # words(), in their order
    key: str  # sorted words
    sounds: frozenset[str]  # Metaphone of the meaningful words

    @classmethod
    def of(cls, text: str) -> Name:
        tokens = tuple(words(text))
        return cls(
            text, tokens, " ".join(sorted(tokens)), frozenset(sound(t) for t in meaningful(list(tokens)))
        )
