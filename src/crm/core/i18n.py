"""Translations (gettext catalogs read with Babel) for every screen and message a client or partner reads.

Catalogs live in `src/crm/locales/<lang>/LC_MESSAGES/messages.po`, read once per process (compiled in memory,
so no binary .mo file is committed). Templates call `_("Text")` or `_("Hello %(name)s", name=...)`; the
language is the page's `lang` (the client's choice, else the browser's Accept-Language, else English).
Python code marks the texts it hands to a screen with `N_` so extraction finds them; the screen translates.
`crm i18n extract` rewrites the catalogs' message lists from the templates and code (docs/i18n.md).
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import pass_context

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
LANGUAGES = {"en": "English", "es": "Español", "ar": "العربية"}
RIGHT_TO_LEFT = {"ar"}
DEFAULT = "en"


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Mark a text for translation where it is defined; the screen that shows it translates it."""
    return message


@cache
def translations(lang: str) -> NullTranslations:
    path = LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT or not path.exists():
        return NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext(lang: str, message: str, **values) -> str:
    text = translations(lang if lang in LANGUAGES else DEFAULT).gettext(message)
    return text % values if values else text


def ngettext(lang: str, singular: str, plural: str, n: int, **values) -> str:
    text = translations(lang if lang in LANGUAGES else DEFAULT).ngettext(singular, plural, n)
    return text % ({"n": n} | values)


def pick_language(*choices: str | None, accept: str = "") -> str:
    """The first supported language among explicit choices (a query, a cookie, the profile), else the best of
    the browser's Accept-Language, else English."""
    for choice in choices:
        code = (choice or "").strip().lower()[:2]
        if code in LANGUAGES:
            return code
    weighted = []
    for part in accept.split(","):
        code, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        weighted.append((weight, code.strip().lower()[:2]))
    for _, code in sorted(weighted, key=lambda w: -w[0]):
        if code in LANGUAGES:
            return code
    return DEFAULT


@cache
def country_names(lang: str) -> list[tuple[str, str]]:
    """(ISO code, the country's name in the language), in that language's alphabetical order (Babel's CLDR
    data)."""
    import pycountry
    from babel import Locale

    names = Locale.parse(lang if lang in LANGUAGES else DEFAULT).territories
    pairs = [(c.alpha_2, names.get(c.alpha_2, c.name)) for c in pycountry.countries]
    return sorted(pairs, key=lambda p: p[1].casefold())


def direction(lang: str) -> str:
    return "rtl" if lang in RIGHT_TO_LEFT else "ltr"


@pass_context
def template_gettext(context, message: str, **values) -> str:
    return gettext(context.get("lang", DEFAULT), message, **values)


@pass_context
def template_ngettext(context, singular: str, plural: str, n: int, **values) -> str:
    return ngettext(context.get("lang", DEFAULT), singular, plural, n, **values)
