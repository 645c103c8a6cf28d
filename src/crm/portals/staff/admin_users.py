"""Staff user administration: list, create, detail with assignments and permission history, resets."""

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery

from crm.clients.service import reveal_counts
from crm.core.errors import DomainError, ValidationFailed
from crm.core.guards import current_actor, requires
from crm.core.org import assignments
from crm.core.org import staff as users
from crm.core.org.entities import entities_visible_to
from crm.core.permissions import Permission
from crm.core.web import form_data, parse_int, redirect, render
from crm.identity import accounts
from crm.portals.staff.navigation import STAFF_NAV

VIEW = [requires(Permission.ACCESS_USER_VIEW)]
MANAGE = [requires(Permission.ACCESS_USER_MANAGE)]


@get("/admin/users", name="staff.admin.users", guards=VIEW)
async def user_list(request: Request, q: FromQuery[str] = "") -> Response:
    rows = await users.list_users(current_actor(request), q.strip()[:100])
    return render(request, "staff/admin/users.html", {"users": rows, "q": q}, fragment="results")


async def _new_user_page(request: Request, form: dict, errors: dict, status: int = 200) -> Response:
    actor = current_actor(request)
    entities = [e for e in await entities_visible_to(actor) if actor.can(Permission.ACCESS_USER_MANAGE, e["id"])]
    return render(request, "staff/admin/user_new.html", {"form": form, "errors": errors, "entities": entities}, status=status)


@get("/admin/users/new", name="staff.admin.user_new", guards=MANAGE)
async def user_new(request: Request) -> Response:
    return await _new_user_page(request, {}, {})


@post("/admin/users/new", name="staff.admin.user_create", guards=MANAGE)
async def user_create(request: Request) -> Response:
    form = await form_data(request)
    try:
        user_id, password = await accounts.create_user(current_actor(request), form)
    except ValidationFailed as exc:
        return await _new_user_page(request, form, exc.field_errors, status=422)
    return await _detail_page(request, user_id, one_time_password=password)


async def _detail_page(request: Request, user_id: int, *, one_time_password: str | None = None,
                       errors: dict | None = None, error: str | None = None, status: int = 200) -> Response:
    actor = current_actor(request)
    user = await users.get_user(actor, user_id)
    return render(request, "staff/admin/user_detail.html", {
        "user": user, "assignments": await users.assignments_of(user_id),
        "history": await users.permission_history(user_id), "reveals": await reveal_counts(user_id),
        "one_time_password": one_time_password, "errors": errors or {}, "error": error,
        "can_manage": actor.can(Permission.ACCESS_USER_MANAGE),
        "can_grant": actor.can(Permission.ACCESS_ASSIGNMENT_MANAGE),
        **await users.grant_form_choices(actor),
    }, status=status)


@get("/admin/users/{user_id:int}", name="staff.admin.user_detail", guards=VIEW)
async def user_detail(request: Request, user_id: FromPath[int]) -> Response:
    return await _detail_page(request, user_id)


@post("/admin/users/{user_id:int}/action", name="staff.admin.user_action", guards=MANAGE)
async def user_action(request: Request, user_id: FromPath[int]) -> Response:
    """Deactivate, reset password or reset MFA; each needs a reason."""
    actor = current_actor(request)
    form = await form_data(request)
    action, reason = form.get("action"), form.get("reason", "")
    try:
        if action == "deactivate":
            await accounts.deactivate_user(actor, user_id, reason)
            return redirect(request, f"/admin/users/{user_id}", flash="User deactivated; sessions ended.")
        if action == "reset_password":
            password = await accounts.reset_password(actor, user_id, reason)
            return await _detail_page(request, user_id, one_time_password=password)
        if action == "reset_mfa":
            await accounts.reset_mfa(actor, user_id, reason)
            return redirect(request, f"/admin/users/{user_id}", flash="MFA reset; the user enrols again at next sign-in.")
        raise ValidationFailed("Unknown action")
    except DomainError as exc:
        return await _detail_page(request, user_id, errors=exc.field_errors, error=exc.message, status=exc.status_code)


@post("/admin/users/{user_id:int}/assignments", name="staff.admin.assignment_grant",
      guards=[requires(Permission.ACCESS_ASSIGNMENT_MANAGE)])
async def grant(request: Request, user_id: FromPath[int]) -> Response:
    actor = current_actor(request)
    await users.get_user(actor, user_id)
    form = await form_data(request)
    try:
        role_id = parse_int(form.get("role"))
        if role_id is None:
            raise ValidationFailed("Choose a role", field_errors={"role": "Choose a role."})
        _, status = await assignments.grant_role(
            actor, user_id=user_id, role_id=role_id, entity_id=parse_int(form.get("entity")),
            team_id=parse_int(form.get("team")), valid_until=form.get("valid_until"), reason=form.get("reason", ""),
        )
    except DomainError as exc:
        return await _detail_page(request, user_id, errors=exc.field_errors, error=exc.message, status=exc.status_code)
    message = ("Privileged role requested: another administrator must approve it."
               if status == "pending" else "Role granted.")
    return redirect(request, f"/admin/users/{user_id}", flash=message)


@post("/admin/assignments/{assignment_id:int}/revoke", name="staff.admin.assignment_revoke",
      guards=[requires(Permission.ACCESS_ASSIGNMENT_MANAGE)])
async def revoke(request: Request, assignment_id: FromPath[int]) -> Response:
    form = await form_data(request)
    user_id = parse_int(form.get("user_id")) or 0
    try:
        await assignments.revoke_assignment(current_actor(request), assignment_id, form.get("reason", ""))
    except DomainError as exc:
        return await _detail_page(request, user_id, errors=exc.field_errors, error=exc.message, status=exc.status_code)
    return redirect(request, f"/admin/users/{user_id}", flash="Assignment revoked.")


handlers = [user_list, user_new, user_create, user_detail, user_action, grant, revoke]

STAFF_NAV.add("Admin", "Staff users", "/admin/users", Permission.ACCESS_USER_VIEW, order=10)
