"""The staff back office: a public router for sign-in and one guarded router for everything else."""

from litestar import Router

from crm.core.guards import signed_in
from crm.portals.staff.navigation import STAFF_NAV


def staff_routers() -> list[Router]:
    from crm.portals.staff import (
        admin_entities,
        admin_notices,
        admin_roles,
        admin_templates,
        admin_users,
        approvals,
        audit,
        auth,
        automation,
        cases,
        clients,
        home,
        inbox,
        kyc_documents,
        kyc_evidence,
        kyc_requirements,
        lead_desk,
        lead_lists,
        lead_routing,
        leads,
        notifications,
        saved_views,
        screening,
        search,
        styleguide,
        watchlists,
    )

    public = Router(
        path="/", route_handlers=auth.public_handlers, include_in_schema=False, opt={"navigation": STAFF_NAV}
    )
    guarded = Router(
        path="/",
        include_in_schema=False,
        guards=[signed_in],
        opt={"navigation": STAFF_NAV},
        route_handlers=[
            *auth.account_handlers,
            *home.handlers,
            *search.handlers,
            *saved_views.handlers,
            *cases.handlers,
            *clients.handlers,
            *audit.handlers,
            *approvals.handlers,
            *admin_users.handlers,
            *admin_roles.handlers,
            *admin_entities.handlers,
            *automation.handlers,
            *notifications.handlers,
            *admin_templates.handlers,
            *admin_notices.handlers,
            *styleguide.handlers,
            *watchlists.handlers,
            *screening.handlers,
            *kyc_documents.handlers,
            *kyc_evidence.handlers,
            *kyc_requirements.handlers,
            *inbox.handlers,
            *lead_lists.handlers,
            *leads.handlers,
            *lead_routing.handlers,
            *lead_desk.handlers,
        ],
    )
    return [public, guarded]


def staff_screens(*handlers) -> Router:
    """Screens served by another layer (a sandbox's page), mounted as staff pages: signed in, with the
    menu."""
    return Router(
        path="/",
        route_handlers=list(handlers),
        include_in_schema=False,
        guards=[signed_in],
        opt={"navigation": STAFF_NAV},
    )
