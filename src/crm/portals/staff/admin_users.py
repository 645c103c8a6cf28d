"""Staff user administration: list, create, detail with assignments and permission history, resets."""

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery

from crm.clients.service import reveal_counts
from crm.core.errors import ValidationFailed
from crm.core.guards import current_actor, requires
from crm.core.inputs import parse_int
from crm.core.org import assignments
from crm.core.org import staff as users
from crm.core.org.entities import entities_visible_to
from crm.core.permissions import Permission
from crm.core.web import NO_REFUSAL, Refusal, form_data, redirect, render, shows_again
from crm.identity import accounts
from crm.portals.staff.navigation import STAFF_NAV

VIEW = [requires(Permission.ACCESS_USER_VIEW)]
MANAGE = [requires(Permission.ACCESS_USER_MANAGE)]


@get("/admin/users", name="staff.admin.users", guards=VIEW)
async def user_list(request: Request, q: FromQuery[str] = "") -> Response:
    rows = await users.list_users(current_actor(request), q.strip()[:100])
    return render(request, "staff/admin/users.html", {"users": rows, "q": q}, fragment="results")


async def _new_user_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    actor = current_actor(request)
    entities = [
        e for e in await entities_visible_to(actor) if actor.can(Permission.ACCESS_USER_MANAGE, e["id"])
    ]
    return render(
        request,
        "staff/admin/user_new.html",
        {"form": refusal.form, "errors": refusal.errors, "entities": entities},
        status=refusal.status,
    )


@get("/admin/users/new", name="staff.admin.user_new", guards=MANAGE)
async def user_new(request: Request) -> Response:
    return await _new_user_page(request)


@post("/admin/users/new", name="staff.admin.user_create", guards=MANAGE)
@shows_again(_new_user_page)
async def user_create(request: Request) -> Response:
    user_id, password = await accounts.create_user(current_actor(request), await form_data(request))
    return await _detail_page(request, user_id=user_id, one_time_password=password)


async def _detail_page(
    request: Request, refusal: Refusal = NO_REFUSAL, *, user_id: int, one_time_password: str | None = None
) -> Response:
    actor = current_actor(request)
    user = await users.get_user(actor, user_id)
    return render(
        request,
        "staff/admin/user_detail.html",
        {
            "user": user,
            "assignments": await users.assignments_of(user_id),
            "history": await users.permission_history(user_id),
            "reveals": await reveal_counts(user_id),
            "one_time_password": one_time_password,
            "errors": refusal.errors,
            "error": refusal.message or None,
            "can_manage": actor.can(Permission.ACCESS_USER_MANAGE),
            "can_grant": actor.can(Permission.ACCESS_ASSIGNMENT_MANAGE),
            **await users.grant_form_choices(actor),
        },
        status=refusal.status,
    )


async def _user_of_assignment_page(
    request: Request, refusal: Refusal = NO_REFUSAL, *, assignment_id: int
) -> Response:
    assignment = await assignments.assignment_for(current_actor(request), assignment_id)
    return await _detail_page(request, refusal, user_id=assignment["user"])


@get("/admin/users/{user_id:int}", name="staff.admin.user_detail", guards=VIEW)
async def user_detail(request: Request, user_id: FromPath[int]) -> Response:
    return await _detail_page(request, user_id=user_id)


def _reason(form: dict) -> str:
    return form.get("reason", "")


@post("/admin/users/{user_id:int}/deactivate", name="staff.admin.user_deactivate", guards=MANAGE)
@shows_again(_detail_page, field="reason")
async def deactivate(request: Request, user_id: FromPath[int]) -> Response:
    """Block sign-in, end every session, revoke every assignment (with a reason)."""
    await accounts.deactivate_user(current_actor(request), user_id, _reason(await form_data(request)))
    return redirect(request, f"/admin/users/{user_id}", flash="User deactivated; sessions ended.")


@post("/admin/users/{user_id:int}/reset-password", name="staff.admin.user_reset_password", guards=MANAGE)
@shows_again(_detail_page, field="reason")
async def reset_password(request: Request, user_id: FromPath[int]) -> Response:
    password = await accounts.reset_password(
        current_actor(request), user_id, _reason(await form_data(request))
    )
    return await _detail_page(request, user_id=user_id, one_time_password=password)


@post("/admin/users/{user_id:int}/reset-mfa", name="staff.admin.user_reset_mfa", guards=MANAGE)
@shows_again(_detail_page, field="reason")
async def reset_mfa(request: Request, user_id: FromPath[int]) -> Response:
    await accounts.reset_mfa(current_actor(request), user_id, _reason(await form_data(request)))
    return redirect(
        request, f"/admin/users/{user_id}", flash="MFA reset; the user enrols again at next sign-in."
    )


@post(
    "/admin/users/{user_id:int}/assignments",
    name="staff.admin.assignment_grant",
    guards=[requires(Permission.ACCESS_ASSIGNMENT_MANAGE)],
)
@shows_again(_detail_page, field="role")
async def grant(request: Request, user_id: FromPath[int]) -> Response:
    actor = current_actor(request)
    await users.get_user(actor, user_id)
    form = await form_data(request)
    role_id = parse_int(form.get("role"))
    if role_id is None:
        raise ValidationFailed("Choose a role", field_errors={"role": "Choose a role."})
    _, status = await assignments.grant_role(
        actor,
        user_id=user_id,
        role_id=role_id,
        entity_id=parse_int(form.get("entity")),
        team_id=parse_int(form.get("team")),
        valid_until=form.get("valid_until"),
        reason=form.get("reason", ""),
    )
    message = (
        "Role requested: another administrator must approve it (a privileged role, a grant to "
        "oneself or someone's first access to client data)."
        if status == "pending"
        else "Role granted."
    )
    return redirect(request, f"/admin/users/{user_id}", flash=message)


@post(
    "/admin/assignments/{assignment_id:int}/revoke",
    name="staff.admin.assignment_revoke",
    guards=[requires(Permission.ACCESS_ASSIGNMENT_MANAGE)],
)
@shows_again(_user_of_assignment_page, field="reason")
async def revoke(request: Request, assignment_id: FromPath[int]) -> Response:
    actor = current_actor(request)
    assignment = await assignments.assignment_for(actor, assignment_id)
    await assignments.revoke_assignment(actor, assignment_id, (await form_data(request)).get("reason", ""))
    return redirect(request, f"/admin/users/{assignment['user']}", flash="Assignment revoked.")


handlers = [
    user_list,
    user_new,
    user_create,
    user_detail,
    deactivate,
    reset_password,
    reset_mfa,
    grant,
    revoke,
]

STAFF_NAV.add("Admin", "Staff users", "/admin/users", Permission.ACCESS_USER_VIEW, order=10)
