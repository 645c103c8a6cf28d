"""Roles and their permission matrix; every change is proposed and needs a second admin."""

from litestar import Request, Response, get, post
from litestar.params import FromPath

from crm.core.approvals import policies, policy_changes
from crm.core.approvals.service import action_kind_names
from crm.core.errors import NotFound
from crm.core.guards import current_actor, requires
from crm.core.org import roles
from crm.core.permissions import DESCRIPTIONS, Permission, permission_groups
from crm.core.web import NO_REFUSAL, Refusal, form_data, form_list, redirect, render, shows_again
from crm.portals.staff.navigation import STAFF_NAV

MANAGE = [requires(Permission.ACCESS_ROLE_MANAGE)]


@get("/admin/roles", name="staff.admin.roles", guards=MANAGE)
async def role_matrix(request: Request) -> Response:
    return render(
        request,
        "staff/admin/roles.html",
        {"roles": await roles.all_roles(), "groups": permission_groups(), "descriptions": DESCRIPTIONS},
    )


async def _edit_page(
    request: Request, refusal: Refusal = NO_REFUSAL, *, role_id: int | None = None
) -> Response:
    role = await _role(role_id) if role_id is not None else None
    form = refusal.form or (dict(role) if role else {"permissions": []})
    if refusal.form:
        form = {**form, "permissions": await form_list(request, "permissions")}
    return render(
        request,
        "staff/admin/role_edit.html",
        {
            "role": role,
            "form": form,
            "errors": refusal.errors,
            "groups": permission_groups(),
            "descriptions": DESCRIPTIONS,
        },
        status=refusal.status,
    )


async def _role(role_id: int) -> dict:
    role = next((r for r in await roles.all_roles() if r["id"] == role_id), None)
    if role is None:
        raise NotFound("Role")
    return role


@get("/admin/roles/new", name="staff.admin.role_new", guards=MANAGE)
async def role_new(request: Request) -> Response:
    return await _edit_page(request)


@get("/admin/roles/{role_id:int}", name="staff.admin.role_edit", guards=MANAGE)
async def role_edit(request: Request, role_id: FromPath[int]) -> Response:
    return await _edit_page(request, role_id=role_id)


async def _propose(request: Request, role_id: int | None) -> Response:
    if role_id is not None:
        await _role(role_id)
    request_id = await roles.propose_role_change(
        current_actor(request), role_id, await form_data(request), await form_list(request, "permissions")
    )
    return redirect(
        request, f"/approvals/{request_id}", flash="Change proposed: another administrator must approve it."
    )


@post("/admin/roles/new", name="staff.admin.role_create", guards=MANAGE)
@shows_again(_edit_page, field="reason")
async def role_create(request: Request) -> Response:
    return await _propose(request, None)


@post("/admin/roles/{role_id:int}", name="staff.admin.role_update", guards=MANAGE)
@shows_again(_edit_page, field="reason")
async def role_update(request: Request, role_id: FromPath[int]) -> Response:
    return await _propose(request, role_id)


async def _policies_page(request: Request, refusal: Refusal = NO_REFUSAL) -> Response:
    return render(
        request,
        "staff/admin/policies.html",
        {
            "policies": await policies.list_policies(),
            "kinds": action_kind_names(),
            "roles": await roles.all_roles(),
            "form": refusal.form,
            "errors": refusal.errors,
        },
        status=refusal.status,
    )


@get("/admin/approval-policies", name="staff.admin.policies", guards=MANAGE)
async def policy_list(request: Request) -> Response:
    return await _policies_page(request)


@post("/admin/approval-policies", name="staff.admin.policy_propose", guards=MANAGE)
@shows_again(_policies_page, field="reason")
async def policy_propose(request: Request) -> Response:
    request_id = await policy_changes.propose_policy(current_actor(request), await form_data(request))
    return redirect(
        request,
        f"/approvals/{request_id}",
        flash="Policy change proposed: another administrator must approve it.",
    )


handlers = [role_matrix, role_new, role_edit, role_create, role_update, policy_list, policy_propose]

STAFF_NAV.add("Admin", "Roles", "/admin/roles", Permission.ACCESS_ROLE_MANAGE, order=20)
STAFF_NAV.add(
    "Admin", "Approval policies", "/admin/approval-policies", Permission.ACCESS_ROLE_MANAGE, order=30
)
