"""`crm screening ...`: import a sanctions or PEP list version, screen a name (docs/kyc.md). Part of the
command line (cli.py adds the group)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from crm.devstack import DEV_DATA


@click.group()
def screening() -> None:
    """Sanctions and PEP lists: import a version, screen a name (docs/kyc.md)."""


@screening.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "code", required=True, help="The list's code, e.g. ofac_sdn or pep_wikidata.")
@click.option("--format", "fmt", default="", help="sdn, simple or ftm (known lists know theirs).")
@click.option("--label", default="", help="The version's label (default: the file's name).")
def screening_import(path: Path, code: str, fmt: str, label: str) -> None:
    """Import a list file as the list's next version; prints what changed as JSON."""
    from crm.core.context import Actor
    from crm.devstack import embedded_default
    from crm.kyc.screening.service import import_list

    with embedded_default(DEV_DATA):
        result = asyncio.run(
            import_list(Actor.system("cli:screening"), code, path.read_bytes(), label or path.name, fmt=fmt)
        )
    click.echo(json.dumps(result.summary()))


@screening.command("check")
@click.argument("name")
@click.option("--dob", default=None, type=click.DateTime(formats=["%Y-%m-%d"]), help="Date of birth.")
@click.option("--country", default="", help="ISO 3166-1 alpha-2 country (nationality or residence).")
@click.option("--json", "as_json", is_flag=True, help="Print the hits as one JSON line.")
def screening_check(name: str, dob, country: str, as_json: bool) -> None:
    """Screen a name against every current list; each hit with its score and why."""
    from crm.devstack import embedded_default
    from crm.kyc.screening.service import check

    with embedded_default(DEV_DATA):
        hits = asyncio.run(check(name, dob=dob.date() if dob else None, country=country))
    explained = [h.explain() for h in hits]
    if as_json:
        click.echo(json.dumps({"query": name, "hits": explained}, ensure_ascii=False))
        return
    lines = [f"{h['score']:.3f} {h['list']} {h['entry']} {h['matched_name']}" for h in explained]
    click.echo("\n".join(lines) or "no hits")
