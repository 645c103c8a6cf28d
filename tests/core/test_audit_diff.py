"""The audit screen's before/after as the named fields that changed."""

from crm.core.audit.diff import field_changes
from tests.factories import make_user
from tests.http import StaffClient, text_of


def test_only_changed_fields_with_readable_values():
    changes = field_changes(
        {"status": "pending", "valid_until": None, "team": 3, "active": True},
        {"status": "active", "valid_until": None, "team": 3, "active": False, "scopes": ["a", "b"]},
    )
    assert changes == [
        {"field": "status", "label": "Status", "before": "pending", "after": "active"},
        {"field": "active", "label": "Active", "before": "yes", "after": "no"},
        {"field": "scopes", "label": "Scopes", "before": "—", "after": '["a", "b"]'},
    ]
    assert field_changes(None, {"x": 1}) == [{"field": "x", "label": "X", "before": "—", "after": "1"}]
    assert field_changes("a", "b") == [{"field": "value", "label": "Value", "before": "a", "after": "b"}]
    assert field_changes({"a": 1}, {"a": 1}) == []


async def test_the_audit_screen_shows_what_changed(app):
    from crm.core.org.assignments import grant_role
    from crm.core.org.tables import Role
    from tests.factories import actor_for

    admin = await make_user(roles={"EU": ["super_admin"]})
    target = await make_user(roles={"EU": ["support_agent"]})
    role = await Role.select(Role.id).where(Role.slug == "sales_agent").first()
    await grant_role(
        await actor_for(admin),
        user_id=target["id"],
        role_id=role["id"],
        entity_id=admin["entities"]["EU"],
        team_id=None,
        valid_until=None,
        reason="new desk",
    )
    async with StaffClient(app) as http:
        await http.sign_in_as(admin)
        page = await http.get("/audit?action=access:assignment:grant")
    assert 'data-testid="audit-changes"' in page.text
    assert "Role Sales agent" in text_of(page) and "Status active" in text_of(page)


def test_codes_in_a_change_read_as_their_words():
    changes = field_changes(
        {"status": "in_progress", "permissions": ["cases:case:view"]},
        {"status": "resolved", "permissions": ["cases:case:view", "cases:case:work"]},
        "case",
    )
    assert changes == [
        {"field": "status", "label": "Status", "before": "In progress", "after": "Resolved"},
        {
            "field": "permissions",
            "label": "Permissions",
            "before": "See cases",
            "after": "See cases, Work cases",
        },
    ]
