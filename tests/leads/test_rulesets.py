"""Rules as versioned data: the draft editor validates, publishing needs a second person, the published
version is what routes; preview changes nothing; a replay of past leads runs as a job with a distribution."""

from crm.core.approvals.tables import ApprovalRequest
from crm.core.audit.tables import AuditRecord
from crm.core.context import Actor
from crm.leads import replay, service
from crm.leads.tables import PoolMember, RuleSet
from tests.conftest import run_jobs
from tests.factories import make_user
from tests.http import StaffClient, text_of
from tests.leads.factories import make_pool, make_team, raw_lead

INTAKE = Actor.system("test_intake")


async def desk():
    maker = await make_user(roles={"EU": ["sales_team_lead"]}, full_name="Mia Maker")
    checker = await make_user(roles={"EU": ["sales_team_lead"]}, full_name="Carl Checker")
    a = await make_user(roles={"EU": ["sales_agent"]}, full_name="Agent Ana")
    b = await make_user(roles={"EU": ["sales_agent"]}, full_name="Agent Bo")
    entity = maker["entities"]["EU"]
    team = await make_team(entity, lead=maker["id"])
    spanish = await make_pool(entity, "Spanish desk", [(a["id"], 1, 50)], team_id=team)
    general = await make_pool(entity, "General", [(b["id"], 1, 50)], team_id=team)
    return maker, checker, entity, spanish, general, a, b


def routing_form(spanish: int, general: int, **extra) -> dict:
    return {
        "row_count": "4",
        "r0_position": "1",
        "r0_name": "Spanish speakers",
        "r0_languages": "es, Spanish",
        "r0_regions": ["LATAM", "EU", "EEA_OTHER"],
        "r0_pool": str(spanish),
        "r0_ib": "any",
        "r1_position": "2",
        "r1_name": "",
        "r1_pool": "",
        "fallback_pool_id": str(general),
        "timezone": "Europe/Madrid",
        "returning_client": "on",
        "ib_manager": "on",
        "band0_score": "80",
        "band0_minutes": "2",
        **extra,
    }


async def test_draft_is_validated_published_only_after_a_second_person_approves(app):
    maker, checker, entity, spanish, general, a, b = await desk()
    url = f"/leads/routing/routing/{entity}"
    async with StaffClient(app) as http:
        await http.sign_in_as(maker)
        assert "Edit the draft" in text_of(await http.get(f"/leads/routing?entity={entity}"))
        assert (await http.get(url)).status_code == 200
        bad = await http.post(
            url,
            routing_form(spanish, general, r0_languages="notalanguage", timezone="Mars/Base", action="save"),
        )
        assert bad.status_code == 422
        page = text_of(bad)
        assert "unknown language" in page and "notalanguage" in page and "Unknown time zone" in page
        saved = await http.post(url, routing_form(spanish, general, action="save", note="first cut"))
        assert saved.status_code == 303
        draft = await RuleSet.select().where(RuleSet.status == "draft").first().output(load_json=True)
        assert draft["rules"]["rules"][0]["when"]["languages"] == [
            "es",
            "es",
        ]  # "es, Spanish" both normalised
        assert len(draft["rules"]["rules"]) == 1  # the row without a pool is not a rule
        # routing still uses nothing published: the lead falls to the unassigned queue
        before = await service.intake(INTAKE, raw_lead(1, language="es"), channel="api")
        assert (
            before.decision.agent_id is None
            and "No routing rules are published" in before.decision.explanation
        )
        no_reason = await http.post(url, routing_form(spanish, general, action="submit"))
        assert no_reason.status_code == 422
        sent = await http.post(
            url, routing_form(spanish, general, action="submit", reason="Spanish desk opens")
        )
        assert sent.status_code == 303
        frozen = await http.post(url, routing_form(spanish, general, action="save"))
        assert frozen.status_code == 409
        request = await ApprovalRequest.select().where(ApprovalRequest.kind == "leads.rules.publish").first()
        own = await http.post(
            f"/approvals/{request['id']}/decide",
            {"decision": "approve", "reason": "ok", "payload_hash": request["payload_hash"]},
        )
        assert own.status_code in (403, 409, 422)  # a maker never approves their own change
        await http.sign_in_as(checker)
        ok = await http.post(
            f"/approvals/{request['id']}/decide",
            {"decision": "approve", "reason": "checked", "payload_hash": request["payload_hash"]},
        )
        assert ok.status_code == 303, ok.text
    published = await RuleSet.select().where(RuleSet.status == "published").first().output(load_json=True)
    assert published["version"] == 1 and published["rules"]["timezone"] == "Europe/Madrid"
    after = await service.intake(INTAKE, raw_lead(2, language="es"), channel="api")
    assert after.decision.agent_id == a["id"] and after.decision.rule_set_version == 1
    other = await service.intake(INTAKE, raw_lead(3, language="en"), channel="api")
    assert other.decision.agent_id == b["id"]
    actions = [r["action"] for r in await AuditRecord.select(AuditRecord.action).order_by(AuditRecord.seq)]
    assert "leads:rules:draft" in actions and "leads:rules:publish" in actions


async def test_scoring_rules_editor_and_preview_change_nothing(app):
    maker, checker, entity, spanish, general, a, b = await desk()
    from tests.leads.factories import publish_rules

    await publish_rules(
        "routing",
        entity,
        {
            "rules": [{"name": "Hot", "when": {"score_min": 50}, "pool_id": spanish}],
            "fallback_pool_id": general,
        },
    )
    async with StaffClient(app) as http:
        await http.sign_in_as(maker)
        bad = await http.post(
            f"/leads/routing/scoring/{entity}",
            {
                "row_count": "2",
                "r0_field": "kyc_started",
                "r0_op": "gte",
                "r0_value": "x",
                "r0_points": "10",
                "r1_field": "source",
                "r1_op": "in",
                "r1_value": "",
                "r1_points": "5",
                "action": "save",
            },
        )
        assert bad.status_code == 422 and "yes/no" in text_of(bad) and "give a value" in text_of(bad)
        ok = await http.post(
            f"/leads/routing/scoring/{entity}",
            {
                "row_count": "2",
                "r0_name": "KYC started",
                "r0_field": "kyc_started",
                "r0_op": "true",
                "r0_points": "40",
                "r1_name": "Paid",
                "r1_field": "source",
                "r1_op": "in",
                "r1_value": "google, bing",
                "r1_points": "20",
                "action": "save",
            },
        )
        assert ok.status_code == 303
        counts_before = [m["assigned_count"] for m in await PoolMember.select(PoolMember.assigned_count)]
        draft = await http.post(
            "/leads/routing/preview",
            {"entity": entity, "use": "draft", "country": "ES", "source": "google", "kyc_started": "on"},
        )
        text = text_of(draft)
        assert "Score 60" in text and "Goes to Agent Ana" in text and "Matched: Hot" in text
        published = await http.post(
            "/leads/routing/preview",
            {"entity": entity, "use": "published", "country": "ES", "source": "google", "kyc_started": "on"},
        )
        assert "Score 0" in text_of(published) and "Goes to Agent Bo" in text_of(published)
        bad_preview = await http.post("/leads/routing/preview", {"entity": entity, "country": "Atlantis"})
        assert bad_preview.status_code == 422
    assert [m["assigned_count"] for m in await PoolMember.select(PoolMember.assigned_count)] == counts_before


async def test_replay_runs_the_draft_over_past_leads_in_a_worker(app, settings):
    maker, checker, entity, spanish, general, a, b = await desk()
    from tests.leads.factories import publish_rules

    await publish_rules("routing", entity, {"rules": [], "fallback_pool_id": general})
    for n in range(30):
        await service.intake(INTAKE, raw_lead(n, language="es" if n % 3 == 0 else "en"), channel="api")
    async with StaffClient(app) as http:
        await http.sign_in_as(maker)
        await http.post(f"/leads/routing/routing/{entity}", routing_form(spanish, general, action="save"))
        started = await http.post("/leads/routing/replays", {"entity": entity, "days": "7", "use": "draft"})
        assert started.status_code == 303
        replay_url = started.headers["location"]
        assert "queued" in text_of(await http.get(replay_url))
        await run_jobs(settings)
        page = text_of(await http.get(replay_url))
    assert "30 leads replayed" in page and "10 would go to someone else" in page
    run = await replay.get(Actor.system("t"), int(replay_url.rsplit("/", 1)[1]))
    assert run["result"]["per_agent"] == {"Agent Bo": 20, "Agent Ana": 10}
    assert run["result"]["per_rule"]["Spanish speakers"] == 10


async def test_entity_rules_change_through_group_level_approval(app):
    maker = await make_user(
        roles={"EU": ["sales_team_lead"], "UK": ["sales_team_lead"]}, full_name="Mia Maker"
    )
    checker = await make_user(
        roles={"EU": ["sales_team_lead"], "UK": ["sales_team_lead"]}, full_name="Carl Checker"
    )
    uk_only = await make_user(roles={"UK": ["sales_team_lead"]})
    eu, uk = maker["entities"]["EU"], maker["entities"]["UK"]
    form = {
        "row_count": "2",
        "e0_position": "10",
        "e0_countries": "United Kingdom, IE",
        "e0_entity": str(uk),
        "e1_position": "20",
        "e1_brand": "",
        "e1_countries": "",
        "e1_entity": str(eu),
        "reason": "UK desk opens",
    }
    async with StaffClient(app) as http:
        await http.sign_in_as(uk_only)
        assert (await http.post("/leads/routing/entities", form)).status_code == 403  # not group level
        await http.sign_in_as(maker)
        bad = await http.post("/leads/routing/entities", {**form, "e0_countries": "Narnia"})
        assert bad.status_code == 422 and "unknown country" in text_of(bad)
        assert (await http.post("/leads/routing/entities", form)).status_code == 303
        request = (
            await ApprovalRequest.select().where(ApprovalRequest.kind == "leads.entity_rules.change").first()
        )
        await http.sign_in_as(checker)
        ok = await http.post(
            f"/approvals/{request['id']}/decide",
            {"decision": "approve", "reason": "ok", "payload_hash": request["payload_hash"]},
        )
        assert ok.status_code == 303
        page = text_of(await http.get("/leads/routing/entities"))
        assert "GB, IE" in page
    uk_lead = await service.intake(INTAKE, raw_lead(1, country="GB"), channel="api", route=False)
    other = await service.intake(
        INTAKE, raw_lead(2, country="DE", phone="+49 151 2345 6789"), channel="api", route=False
    )
    assert uk_lead.lead["entity_id"] == uk and other.lead["entity_id"] == eu
    assert await AuditRecord.count().where(AuditRecord.action == "leads:entity_rules:change") == 1
