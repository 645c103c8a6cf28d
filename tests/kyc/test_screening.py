"""Sanctions and PEP screening against the real OFAC SDN snapshots and the PEP samples: names in another
script, in another order, with honorifics, typos and aliases are found; dates of birth and countries move the
score and say so; clean names are not hit; an import stores a version and the two snapshots' difference."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crm.core.audit.tables import AuditRecord
from crm.core.context import Actor
from crm.core.errors import Conflict
from crm.kyc.screening import formats, service
from crm.kyc.screening.matcher import Index
from crm.kyc.screening.names import Name, key, latin, words
from crm.settings import REPO_ROOT

DATA = REPO_ROOT.parent / "shared" / "data" / "sanctions"
OLD, NEW = DATA / "ofac-sdn-2024-04-25.csv", DATA / "ofac-sdn-2024-05-03.csv"


def read(path: Path) -> str:
    if not path.exists():
        pytest.skip(f"{path} is not here (shared/ sits beside the repository)")
    return path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def sdn() -> Index:
    return Index(formats.parse_sdn(read(NEW)))


def test_names_compare_across_scripts_orders_honorifics_and_legal_forms():
    assert latin("Путин Владимир") == "putin vladimir"
    assert key("PUTIN, Vladimir") == key("Vladimir Putin")
    assert words("Dr. Ayman AL-ZAWAHIRI") == ["ayman", "al", "zawahiri"]
    assert words("Abd al-Rahman Yusuf") == words("Abdelrahman Yusuf") == ["abdrahman", "yusuf"]
    assert words("ROSOBORONEXPORT OAO") == ["rosoboronexport"]
    assert Name.of("Mohammed").sounds == Name.of("Muhammad").sounds


def test_the_sdn_file_reads_with_aliases_dates_of_birth_and_countries():
    entries = {e.key: e for e in formats.parse_sdn(read(NEW))}
    assert len(entries) > 14_000
    zawahiri = entries["2676"]
    assert (
        zawahiri.kind == "person" and zawahiri.birth_dates == ("1951-06-19",) and "eg" in zawahiri.countries
    )
    cuba_bank = entries["306"]
    assert cuba_bank.kind == "entity" and "BNC" in cuba_bank.names


@pytest.mark.parametrize(
    ("query", "entry"),
    [
        ("Vladimir Putin", "35096"),  # the patronymic left out
        ("Владимир Путин", "35096"),  # Cyrillic
        ("Ayman al-Zawahiri", "2676"),  # honorific in the list, particle in the query
        ("Aiman Zawahri", "2676"),  # spelling variants
        ("ZAWAHIRI Ayman", "2676"),  # order
    ],
)
def test_variants_of_a_listed_name_are_hit_and_explained(sdn, query, entry):
    hits = sdn.screen(query)
    assert hits and hits[0].entry.key == entry, [(h.entry.key, h.score) for h in hits]
    why = hits[0].explain()
    assert why["list"] == "ofac_sdn" and why["words"] and 0.82 <= why["score"] <= 1
    assert json.dumps(why)  # stored as evidence as it is


def test_date_of_birth_and_country_raise_or_lower_the_score_and_say_why(sdn):
    plain = sdn.screen("Ayman al-Zawahiri")[0]
    same = sdn.screen("Ayman al-Zawahiri", dob=dt.date(1951, 6, 19), country="EG")[0]
    assert same.score >= plain.score
    assert [q["why"] for q in same.qualifiers] == [
        "date of birth 1951-06-19 matches",
        "EG is among the entry's countries",
    ]
    far = sdn.screen("Aiman Zawahri", dob=dt.date(1990, 1, 1), threshold=0.5)[0]
    assert far.score < sdn.screen("Aiman Zawahri")[0].score
    assert any("39 years from 1990" in q["why"] for q in far.qualifiers)


@pytest.mark.parametrize(
    "clean", ["Maria Garcia Lopez", "John Smith", "Anna Müller", "Oliver Brown", "Emma Johansson"]
)
def test_ordinary_names_are_not_hit(sdn, clean):
    assert sdn.screen(clean) == []


def test_pep_lists_read_in_both_opensanctions_formats():
    ftm = formats.parse_ftm(read(DATA / "pep-wikidata-sa.ftm.json"), "pep_wikidata")
    simple = formats.parse_simple(read(DATA / "pep-sample-wikidata.targets.simple.csv"), "pep_sample")
    assert ftm and all(e.kind in ("person", "entity") for e in ftm)  # positions (not targets) left out
    hariri = next(e for e in simple if e.key == "Q296771")
    assert hariri.birth_dates == ("1970-04-18",) and "sa" in hariri.countries and "Hariri" in hariri.names
    assert Index(simple).screen("Saad Hariri", dob=dt.date(1970, 4, 18))[0].entry.key == "Q296771"


async def test_an_import_keeps_versions_and_the_snapshots_difference(app):
    actor = Actor.system("test")
    first = await service.import_list(
        actor, "ofac_sdn", OLD.read_bytes() if OLD.exists() else b"", "2024-04-25"
    )
    assert first.added == first.entries > 14_000 and first.changed == first.removed == 0
    with pytest.raises(Conflict):
        await service.import_list(actor, "ofac_sdn", OLD.read_bytes(), "again")
    second = await service.import_list(actor, "ofac_sdn", NEW.read_bytes(), "2024-05-03")
    assert second.added > 0 and second.changed + second.removed > 0
    assert 0 < len(second.moved_keys) < 2_000  # the two snapshots differ by a few hundred entries
    moved = await service.diff(first.version_id, second.version_id)
    assert len(moved["added"]) == second.added and len(moved["changed"]) == second.changed
    assert (await service.check("Vladimir Putin"))[0].entry.key == "35096"
    rows = await AuditRecord.select().where(AuditRecord.action == "kyc:watchlist:import")
    assert len(rows) == 2 and json.loads(rows[1]["after"])["added"] == second.added


def test_the_cli_checks_a_name_as_json(tmp_path):
    """`crm screening check` on a data directory of its own: import the snapshot, then ask."""
    crm = str(Path(sys.executable).parent / "crm")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env["CRM_DATA_DIR"] = str(tmp_path / "data")
    migrated = subprocess.run([crm, "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    done = subprocess.run(
        [crm, "screening", "import", str(NEW), "--list", "ofac_sdn"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    asked = subprocess.run(
        [crm, "screening", "check", "Ayman al Zawahiri", "--dob", "1951-06-19", "--country", "EG", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert asked.returncode == 0, asked.stderr[-2000:]
    answer = json.loads(asked.stdout)
    assert answer["hits"][0]["entry"] == "2676" and answer["hits"][0]["qualifiers"]


async def test_compliance_sees_the_versions_what_changed_and_screens_a_name(app):
    from tests.factories import make_user
    from tests.http import StaffClient, text_of

    actor = Actor.system("test")
    await service.import_list(actor, "ofac_sdn", OLD.read_bytes() if OLD.exists() else b"", "2024-04-25")
    second = await service.import_list(actor, "ofac_sdn", NEW.read_bytes(), "2024-05-03")
    officer = await make_user(roles={"EU": ["compliance_officer"]})
    agent = await make_user(roles={"EU": ["sales_agent"]})
    async with StaffClient(app) as http:
        await http.sign_in_as(officer)
        listed = await http.get("/kyc/watchlists")
        assert "OFAC Specially Designated Nationals" in text_of(listed) and "2024-05-03" in text_of(listed)
        screened = await http.get("/kyc/watchlists?name=Владимир+Путин&country=RU")
        assert "PUTIN, Vladimir Vladimirovich" in text_of(screened) and "RU is among" in text_of(screened)
        assert "No hit" in text_of(await http.get("/kyc/watchlists?name=Emma+Johansson"))
        compared = await http.get("/kyc/watchlists/ofac_sdn")
        page = text_of(compared)
        assert f"Added: {second.added}" in page and f"Changed: {second.changed}" in page
        assert (await http.get("/kyc/watchlists/nope")).status_code == 404
        await http.sign_in_as(agent)
        assert (await http.get("/kyc/watchlists")).status_code == 403
