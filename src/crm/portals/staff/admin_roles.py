"""Roles and their permission matrix; every change is proposed and needs a second admin."""

from litestar import Request, Response, get, post
from litestar.params import FromPath

from crm.core.approvals import policies, policy_changes
from crm.core.approvals.service import action_kind_names
from crm.core.errors import DomainError, NotFound
from crm.core.guards import current_actor, requires
from crm.core.org import roles
from crm.core.permissions import DESCRIPTIONS, Permission
from crm.core.web import form_data, form_list, redirect, render
from crm.portals.staff.navigation import STAFF_NAV

MANAGE = [requires(Permission.ACCESS_ROLE_MANAGE)]


@get("/admin/roles", name="staff.admin.roles", guards=MANAGE)
async def role_matrix(request: Request) -> Response:
    return render(request, "staff/admin/roles.html", {
        "roles": await roles.all_roles(), "permissions": list(Permission), "descriptions": DESCRIPTIONS})


async def _edit_page(request: Request, role: dict | None, form: dict, errors: dict, status: int = 200) -> Response:
    return render(request, "staff/admin/role_edit.html", {
        "role": role, "form": form, "errors": errors, "permissions": list(Permission), "descriptions": DESCRIPTIONS,
    }, status=status)


async def _role(role_id: int) -> dict:
    role = next((r for r in await roles.all_roles() if r["id"] == role_id), None)
    if role is None:
        raise NotFound("Role")
    return role


@get("/admin/roles/new", name="staff.admin.role_new", guards=MANAGE)
async def role_new(request: Request) -> Response:
    return await _edit_page(request, None, {"permissions": []}, {})


@get("/admin/roles/{role_id:int}", name="staff.admin.role_edit", guards=MANAGE)
async def role_edit(request: Request, role_id: FromPath[int]) -> Response:
    role = await _role(role_id)
    return await _edit_page(request, role, dict(role), {})


async def _propose(request: Request, role_id: int | None) -> Response:
    form = await form_data(request)
    permissions = await form_list(request, "permissions")
    role = await _role(role_id) if role_id is not None else None
    try:
        request_id = await roles.propose_role_change(current_actor(request), role_id, form, permissions)
    except DomainError as exc:
        return await _edit_page(request, role, {**form, "permissions": permissions}, exc.field_errors or {"reason": exc.message}, 422)
    return redirect(request, f"/approvals/{request_id}", flash="Change proposed: another administrator must approve it.")


@post("/admin/roles/new", name="staff.admin.role_create", guards=MANAGE)
async def role_create(request: Request) -> Response:
    return await _propose(request, None)


@post("/admin/roles/{role_id:int}", name="staff.admin.role_update", guards=MANAGE)
async def role_update(request: Request, role_id: FromPath[int]) -> Response:
    return await _propose(request, role_id)


async def _policies_page(request: Request, form: dict, errors: dict, status: int = 200) -> Response:
    return render(request, "staff/admin/policies.html", {
        "policies": await policies.list_policies(), "kinds": action_kind_names(), "roles": await roles.all_roles(),
        "form": form, "errors": errors}, status=status)


@get("/admin/approval-policies", name="staff.admin.policies", guards=MANAGE)
async def policy_list(request: Request) -> Response:
    return await _policies_page(request, {}, {})


@post("/admin/approval-policies", name="staff.admin.policy_propose", guards=MANAGE)
async def policy_propose(request: Request) -> Response:
    form = await form_data(request)
    try:
        request_id = await policy_changes.propose_policy(current_actor(request), form)
    except DomainError as exc:
        return await _policies_page(request, form, exc.field_errors or {"reason": exc.message}, exc.status_code)
    return redirect(request, f"/approvals/{request_id}", flash="Policy change proposed: another administrator must approve it.")


handlers = [role_matrix, role_new, role_edit, role_create, role_update, policy_list, policy_propose]

STAFF_NAV.add("Admin", "Roles", "/admin/roles", Permission.ACCESS_ROLE_MANAGE, order=20)
STAFF_NAV.add("Admin", "Approval policies", "/admin/approval-policies", Permission.ACCESS_ROLE_MANAGE, order=30)
