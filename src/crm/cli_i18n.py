"""`crm i18n extract`: the catalogs' messages, read from the client-facing templates and the code that marks
texts with `N_` or calls `gettext`; each language's catalog keeps its translations and gains the new texts
(empty until translated: tests/test_i18n.py fails until they are). docs/i18n.md."""

from __future__ import annotations

from pathlib import Path

import click
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from crm.core.i18n import DEFAULT, LANGUAGES, LOCALES_DIR
from crm.settings import REPO_ROOT

TEMPLATE_DIRS = ("templates/client",)  # later: templates/partner
CODE_DIRS = ("src/crm",)
KEYWORDS = {"_": None, "N_": None, "gettext": (2,), "ngettext": (2, 3)}


def extracted() -> Catalog:
    """Every translatable text of the client-facing pages and code, with where it is used."""
    catalog = Catalog(locale=DEFAULT, project="crm", charset="utf-8")
    for folder in TEMPLATE_DIRS:
        method = [("**.html", "jinja2.ext:babel_extract")]
        options = {"**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}
        for name, line, message, comments, _ in extract_from_dir(
            REPO_ROOT / folder, method, options_map=options, keywords={"_": None, "ngettext": (1, 2)}
        ):
            catalog.add(message, locations=[(f"{folder}/{name}", line)], auto_comments=comments)
    for folder in CODE_DIRS:
        for name, line, message, comments, _ in extract_from_dir(
            REPO_ROOT / folder, [("**.py", "python")], keywords=KEYWORDS
        ):
            catalog.add(message, locations=[(f"{folder}/{name}", line)], auto_comments=comments)
    return catalog


def catalog_path(lang: str) -> Path:
    return LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po"


@click.group()
def i18n() -> None:
    """Translations of the client-facing screens and e-mails."""


@i18n.command()
def extract() -> None:
    """Bring every language's catalog up to date with the texts in the templates and code."""
    template = extracted()
    for lang in LANGUAGES:
        if lang == DEFAULT:
            continue
        path = catalog_path(lang)
        if path.exists():
            with path.open("rb") as po:
                catalog = read_po(po, locale=lang)
        else:
            catalog = Catalog(locale=lang, project="crm", charset="utf-8")
        catalog.update(template, no_fuzzy_matching=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as po:
            write_po(po, catalog, width=110, omit_header=False, sort_output=True, ignore_obsolete=True)
        missing = sum(1 for m in catalog if m.id and not m.string)
        click.echo(f"{lang}: {len(catalog)} messages, {missing} to translate ({path.relative_to(REPO_ROOT)})")
