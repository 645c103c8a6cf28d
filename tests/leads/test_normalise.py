"""Normalising what senders type: every ISO 639-1 code is itself (not a language whose name it spells)."""

import pycountry
import pytest

from crm.leads.normalise import language_code

TWO_LETTER = sorted(lang.alpha_2 for lang in pycountry.languages if hasattr(lang, "alpha_2"))


def test_every_iso_639_1_code_round_trips():
    wrong = {code: language_code(code) for code in TWO_LETTER if language_code(code) != code}
    assert not wrong, wrong
    assert len(TWO_LETTER) > 180


@pytest.mark.parametrize(
    "typed,code",
    [
        ("en", "en"),
        ("EN", "en"),
        ("ko", "ko"),
        ("en-GB", "en"),
        ("es_MX", "es"),
        ("spa", "es"),
        ("ger", "de"),
        ("English", "en"),
        ("Spanish", "es"),
        ("fil", "fil"),
        ("", None),
        ("zz", None),
    ],
)
def test_codes_names_and_locales(typed, code):
    assert language_code(typed) == code


def test_stored_codes_from_the_name_match_are_put_back():
    """The migration's mapping is exactly the codes the old lookup got wrong."""
    from pathlib import Path

    migration = Path(__file__).resolve().parents[2] / "migrations/leads/leads_2026_12_02t16_30_00_000000.py"
    text = migration.read_text()
    for code in TWO_LETTER:
        try:
            old = pycountry.languages.lookup(code)
        except LookupError:
            continue
        stored = getattr(old, "alpha_2", None) or old.alpha_3
        if stored != code:
            assert f"('{stored}', '{code}')" in text, code
