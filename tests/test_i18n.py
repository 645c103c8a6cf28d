"""Translations: every text the client-facing pages and code mark is in the Spanish and Arabic catalogs,
translated, with the same placeholders; the catalogs hold nothing stale; a page picks its language."""

import re

import pytest
from babel.messages.pofile import read_po

from crm.cli_i18n import catalog_path, extracted
from crm.core.i18n import DEFAULT, LANGUAGES, direction, gettext, pick_language

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.fixture(scope="module")
def texts() -> set[str]:
    return {m.id for m in extracted() if m.id}


@pytest.mark.parametrize("lang", sorted(set(LANGUAGES) - {DEFAULT}))
def test_each_catalog_is_complete_and_current(lang, texts):
    with catalog_path(lang).open("rb") as po:
        catalog = {m.id: m.string for m in read_po(po, locale=lang) if m.id}
    assert set(catalog) == texts, "run `crm i18n extract` and translate the new texts"
    untranslated = [k for k, v in catalog.items() if not v]
    assert not untranslated, untranslated
    for msgid, text in catalog.items():
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(text)), (lang, msgid)


def test_a_language_is_chosen_by_choice_then_browser_then_english():
    assert pick_language("", None, accept="fr-FR,es;q=0.8,ar;q=0.9") == "ar"
    assert pick_language("es", accept="ar") == "es"
    assert pick_language("xx", accept="de") == "en"
    assert direction("ar") == "rtl" and direction("es") == "ltr"
    assert gettext("es", "Hello %(name)s", name="Ana") == "Hola, Ana"
    assert gettext("zz", "Sign in") == "Sign in"
