"""Rule sets as form rows and back: the routing document (conditions → pool, overrides, fallback, SLA bands)
and the scoring document (field tests → points) shown as rows of text fields, and the submitted rows read back
into a document for rulesets.save_draft to check."""

from __future__ import annotations

from litestar import Request

from crm.core.inputs import parse_int
from crm.core.web import form_list
from crm.leads.normalise import whole_minutes

BLANK_ROWS = 1


def _text_list(value) -> str:
    return value if isinstance(value, str) else ", ".join(value or [])


def _ib_choice(value) -> str:
    if value in ("any", "yes", "no"):
        return value
    return {True: "yes", False: "no"}.get(value, "any")


def routing_form(doc: dict) -> dict:
    """The document as form values (rows of text fields)."""
    form: dict = {
        "fallback_pool_id": doc.get("fallback_pool_id") or "",
        "timezone": doc.get("timezone") or "UTC",
    }
    overrides = doc.get("overrides") or {}
    form |= {
        "returning_client": overrides.get("returning_client", True),
        "ib_manager": overrides.get("ib_manager", True),
        "vip_min_score": overrides.get("vip_min_score") or "",
        "vip_pool_id": overrides.get("vip_pool_id") or "",
    }
    bands = overrides.get("sla_by_score") or []
    form["bands"] = [{"min_score": b["min_score"], "minutes": whole_minutes(b["seconds"])} for b in bands] + [
        {"min_score": "", "minutes": ""}
    ] * (3 - len(bands) if len(bands) < 3 else 1)
    rows = []
    for rule in doc.get("rules") or []:
        when = rule.get("when") or {}
        hours = when.get("hours") or ["", ""]
        rows.append(
            {
                "name": rule.get("name", ""),
                "pool_id": rule.get("pool_id") or "",
                "countries": _text_list(when.get("countries")),
                "regions": when.get("regions") or [],
                "languages": _text_list(when.get("languages")),
                "sources": _text_list(when.get("sources")),
                "brands": _text_list(when.get("brands")),
                "score_min": "" if when.get("score_min") is None else when["score_min"],
                "score_max": "" if when.get("score_max") is None else when["score_max"],
                "ib_referred": _ib_choice(when.get("ib_referred")),
                "hours_from": hours[0],
                "hours_to": hours[1],
            }
        )
    form["rows"] = (
        rows
        + [
            {
                "name": "",
                "pool_id": "",
                "countries": "",
                "regions": [],
                "languages": "",
                "sources": "",
                "brands": "",
                "score_min": "",
                "score_max": "",
                "ib_referred": "any",
                "hours_from": "",
                "hours_to": "",
            }
        ]
        * BLANK_ROWS
    )
    return form


def scoring_form(doc: dict) -> dict:
    rows = [
        {
            "name": r.get("name", ""),
            "field": r.get("field", ""),
            "op": r.get("op", "eq"),
            "points": r.get("points", ""),
            "value": ", ".join(r["value"])
            if isinstance(r.get("value"), list)
            else ("" if r.get("value") is None else r["value"]),
        }
        for r in doc.get("rules") or []
    ]
    return {"rows": rows + [{"name": "", "field": "", "op": "eq", "value": "", "points": ""}] * BLANK_ROWS}


async def doc_from_form(request: Request, kind: str, form: dict) -> dict:
    count = parse_int(form.get("row_count")) or 0
    if kind == "scoring":
        return {
            "rules": [
                {
                    "name": form.get(f"r{i}_name", ""),
                    "field": form.get(f"r{i}_field", ""),
                    "op": form.get(f"r{i}_op", "eq"),
                    "value": form.get(f"r{i}_value", ""),
                    "points": form.get(f"r{i}_points", ""),
                }
                for i in range(count)
                if form.get(f"r{i}_field") and not form.get(f"r{i}_delete")
            ]
        }
    rows = []
    for i in range(count):
        if not form.get(f"r{i}_pool") or form.get(f"r{i}_delete"):
            continue
        hours = [form.get(f"r{i}_hours_from", ""), form.get(f"r{i}_hours_to", "")]
        rows.append(
            (
                parse_int(form.get(f"r{i}_position")) or i + 1,
                i,
                {
                    "name": form.get(f"r{i}_name", ""),
                    "pool_id": form.get(f"r{i}_pool"),
                    "when": {
                        "countries": form.get(f"r{i}_countries", ""),
                        "regions": await form_list(request, f"r{i}_regions"),
                        "languages": form.get(f"r{i}_languages", ""),
                        "sources": form.get(f"r{i}_sources", ""),
                        "brands": form.get(f"r{i}_brands", ""),
                        "score_min": form.get(f"r{i}_score_min", ""),
                        "score_max": form.get(f"r{i}_score_max", ""),
                        "ib_referred": form.get(f"r{i}_ib", "any"),
                        "hours": hours if any(hours) else None,
                    },
                },
            )
        )
    bands = [
        {
            "min_score": form.get(f"band{i}_score", ""),
            "seconds": int(float(form.get(f"band{i}_minutes") or 0) * 60) or "",
        }
        for i in range(3)
        if form.get(f"band{i}_score") not in (None, "") and form.get(f"band{i}_minutes")
    ]
    return {
        "rules": [r for _, _, r in sorted(rows)],
        "fallback_pool_id": form.get("fallback_pool_id") or None,
        "timezone": form.get("timezone") or "UTC",
        "overrides": {
            "returning_client": form.get("returning_client") == "on",
            "ib_manager": form.get("ib_manager") == "on",
            "vip_min_score": form.get("vip_min_score", ""),
            "vip_pool_id": form.get("vip_pool_id", ""),
            "sla_by_score": bands,
        },
    }
