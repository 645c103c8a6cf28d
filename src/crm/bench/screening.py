"""`crm bench screening`: sanctions screening against the real OFAC SDN snapshot (shared/data/sanctions).

1. import_s: the older snapshot, then the newer one, through the import service (a version each, the second
   storing only what moved); index_s: the in-memory index of every current name and alias.
2. screen_p50_ms / screen_p99_ms: one name against the full index (with aliases), over the labelled set below.
3. recall / false_hit_rate: a labelled set built from the SDN file itself (docs/kyc.md, "The labelled set"):
   for person entries with two or more words, variants a client or an agent would type (words reordered, a
   middle name dropped, one letter wrong, written in Cyrillic, an honorific added, lower case with hyphens),
   each labelled with its ent_num, half of them with the entry's date of birth; and ordinary names
   (first and last names common in 12 countries, crossed) that are on no list under any spelling. Recall: the
   share of variants whose entry is among the hits; false-hit rate: the share of ordinary names hit at all.
4. rescreen_100k_min: 100,000 generated clients in PostgreSQL (100 of them listed people from the labelled
   set) re-screened by the scheduled full re-screen job against the whole index, hits raised as matches and
   cases; delta_rescreen_s: the job an import triggers, the same clients against only the entries the newer
   snapshot added or changed.
With --variants FILE (CSV: query, dob, expected_ent_num; other columns ignored) it also reports
variants_recall and variants_false_hit_rate for that file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import time
from pathlib import Path

from crm.bench.events import pct
from crm.core.context import Actor
from crm.core.jobs import JobRun
from crm.kyc.screening import service
from crm.kyc.screening.matcher import Entry, Index
from crm.kyc.screening.names import key, meaningful, words
from crm.kyc.screening.rescreen import rescreen_all, rescreen_delta
from crm.settings import REPO_ROOT, Settings

DATA = REPO_ROOT.parent / "shared" / "data" / "sanctions"
# Latin to Cyrillic as a Russian clerk would write a foreign name (digraphs first).
CYRILLIC = [("kh", "х"), ("sh", "ш"), ("ch", "ч"), ("zh", "ж"), ("ts", "ц"), ("ya", "я"), ("yu", "ю")] + list(
    zip("abvgdezijklmnoprstufhcywxq", "абвгдезийклмнопрстуфхкывкк", strict=True)
)
FIRST = """James Mary Oliver Emma Lukas Sophie Mateo Lucia Chen Mei Hiroshi Yuki Olga Ivan Pierre Camille
Marco Giulia Lars Ingrid Tomasz Agnieszka Ravi Priya Kofi Ama Diego Valentina Jonas Mia Noah Elena""".split()
LAST = """Smith Johnson Brown Taylor Müller Schneider García Fernández Rossi Bianchi Dubois Lefèvre Novak
Kowalski Nielsen Johansson Tanaka Suzuki Sato Kim Park Nguyen Tran Singh Sharma Mensah Boateng Silva Santos
Oliveira""".split()


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + rng.choice("aeioulnrst".replace(word[i], "")) + word[i + 1 :]


def variants(entries: list[Entry], rng: random.Random, count: int) -> list[tuple[str, dt.date | None, str]]:
    """(query, dob, expected ent_num) for `count` variants of listed people's names."""
    people = [e for e in entries if e.kind == "person" and len(meaningful(words(e.names[0]))) >= 2]
    out = []
    for entry in rng.sample(people, min(count, len(people))):
        tokens = meaningful(words(entry.names[0]))
        kind = rng.choice(["reordered", "dropped", "typo", "cyrillic", "honorific", "styled"])
        if kind == "reordered":
            text = " ".join(reversed(tokens))
        elif kind == "dropped" and len(tokens) >= 3:
            text = " ".join([tokens[0], *tokens[2:]])
        elif kind == "typo":
            longest = max(range(len(tokens)), key=lambda i: len(tokens[i]))
            text = " ".join(_typo(t, rng) if i == longest else t for i, t in enumerate(tokens))
        elif kind == "cyrillic":
            text = " ".join(tokens)
            for latin_letters, cyrillic in CYRILLIC:
                text = text.replace(latin_letters, cyrillic)
        elif kind == "honorific":
            text = rng.choice(["Mr. ", "Dr. ", "Sheikh ", "Mrs. "]) + " ".join(tokens).title()
        else:
            text = "-".join(tokens).lower()
        dob = None
        if entry.birth_dates and len(entry.birth_dates[0]) == 10 and rng.random() < 0.5:
            dob = dt.date.fromisoformat(entry.birth_dates[0])
        out.append((text, dob, entry.key))
    return out


def ordinary_names(entries: list[Entry], rng: random.Random, count: int) -> list[str]:
    """Ordinary names that are on no list under their own spelling."""
    listed = {key(n) for e in entries for n in e.names}
    names = [f"{f} {last}" for f in FIRST for last in LAST if key(f"{f} {last}") not in listed]
    rng.shuffle(names)
    return names[:count]


def score(
    index: Index, labelled: list[tuple[str, dt.date | None, str]], timings: list[float] | None = None
) -> dict:
    found = hit_clean = clean = listed = 0
    for query, dob, expected in labelled:
        started = time.perf_counter()
        hits = index.screen(query, dob=dob)
        if timings is not None:
            timings.append((time.perf_counter() - started) * 1000)
        if expected:
            listed += 1
            found += any(h.entry.key == expected for h in hits)
        else:
            clean += 1
            hit_clean += bool(hits)
    return {
        "recall": round(found / listed, 4) if listed else None,
        "false_hit_rate": round(hit_clean / clean, 4) if clean else None,
        "listed": listed,
        "clean": clean,
    }


def read_variants(path: Path) -> list[tuple[str, dt.date | None, str]]:
    rows = []
    for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
        dob = (row.get("dob") or "").strip()
        rows.append(
            (
                row["query"],
                dt.date.fromisoformat(dob) if dob else None,
                (row.get("expected_ent_num") or "").strip(),
            )
        )
    return rows


async def _insert_clients(count: int, planted: list, rng: random.Random) -> None:
    """`count` generated clients in one entity, the planted (listed) names among them."""
    from crm.core.db import current_connection, transaction

    async with transaction():
        conn = current_connection()
        entity = await conn.fetchval(
            "INSERT INTO legal_entity (code, name, regulator, jurisdiction, base_currency, time_zone, "
            "active, created_at) VALUES ('BENCH', 'Bench Ltd', 'none', 'CY', 'EUR', 'UTC', true, now()) "
            "RETURNING id"
        )
        people = [(f"{rng.choice(FIRST)} {rng.choice(LAST)}", rng.choice(LAST), None) for _ in range(count)]
        for n, (query, dob, _) in enumerate(planted):
            first, _, last = query.rpartition(" ")
            people[n * (count // max(1, len(planted)))] = (first or last, last, dob)
        await conn.copy_records_to_table(
            "client",
            columns=[
                "reference",
                "entity",
                "first_name",
                "last_name",
                "email",
                "phone",
                "country",
                "date_of_birth",
                "id_number",
                "bank_account",
                "status",
                "created_at",
            ],
            records=[
                (
                    f"CL-B{n:07d}",
                    entity,
                    first[:100],
                    last[:100],
                    f"c{n}@bench.example",
                    "",
                    "CY",
                    dob,
                    "",
                    "",
                    "registered",
                    dt.datetime.now(dt.UTC),
                )
                for n, (first, last, dob) in enumerate(people)
            ],
        )


async def bench_screening(rows: int | None = None, variants_file: Path | None = None) -> dict:
    actor = Actor.system("bench")
    started = time.perf_counter()
    old = await service.import_list(
        actor, "ofac_sdn", (DATA / "ofac-sdn-2024-04-25.csv").read_bytes(), "2024-04-25"
    )
    new = await service.import_list(
        actor, "ofac_sdn", (DATA / "ofac-sdn-2024-05-03.csv").read_bytes(), "2024-05-03"
    )
    import_s = time.perf_counter() - started
    started = time.perf_counter()
    index = await service.current_index()
    index_s = time.perf_counter() - started
    rng = random.Random(2024)
    entries = index.entries
    labelled = variants(entries, rng, 2_000) + [(n, None, "") for n in ordinary_names(entries, rng, 800)]
    timings: list[float] = []
    quality = score(index, labelled, timings)
    clients = rows or 100_000
    planted = [v for v in labelled if v[2]][:100]  # listed people among the clients: hits the jobs raise
    await _insert_clients(clients, planted, rng)
    run = JobRun("bench", "bench", 1, None, None, actor, Settings.from_env().redis_url)
    started = time.perf_counter()
    full = await rescreen_all(run)
    full_s = time.perf_counter() - started
    started = time.perf_counter()
    delta = await rescreen_delta(run, new.version_id)
    delta_s = time.perf_counter() - started
    moved = set(new.moved_keys)
    figures = {
        "sdn_entries": new.entries,
        "names_indexed": len(index.names),
        "snapshot_moved_entries": len(moved),
        "import_s": round(import_s, 2),
        "index_s": round(index_s, 2),
        "screen_p50_ms": pct(timings, 0.5),
        "screen_p99_ms": pct(timings, 0.99),
        "recall": quality["recall"],
        "false_hit_rate": quality["false_hit_rate"],
        "labelled_listed": quality["listed"],
        "labelled_clean": quality["clean"],
        "rescreen_clients": clients,
        "rescreen_100k_min": round(full_s / 60 * 100_000 / clients, 2),
        "rescreen_clients_with_hits": full["clients_with_hits"],
        "rescreen_raised": full["raised"],
        "delta_rescreen_s": round(delta_s, 2),
        "delta_rescreen_entries": delta["entries"],
        "delta_rescreen_clients_with_hits": delta["clients_with_hits"],
        "versions": [old.version_id, new.version_id],
    }
    if variants_file is not None:
        extra = score(index, read_variants(variants_file))
        figures |= {"variants_recall": extra["recall"], "variants_false_hit_rate": extra["false_hit_rate"]}
    return figures
