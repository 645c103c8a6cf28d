"""The notification centre: list, mark read, channel preferences, and the live unread badge."""

from litestar import Request, Response, get, post
from litestar.response import ServerSentEvent

from crm.core.guards import current_actor
from crm.core.notifications import service
from crm.core.web import form_data, redirect, render, render_block
from crm.portals.staff.live import live_stream


@get("/notifications", name="staff.notifications.list", opt={"any_staff": True})
async def notifications(request: Request) -> Response:
    actor = current_actor(request)
    return render(
        request,
        "staff/notifications.html",
        {"notes": await service.list_for(actor.user_id), "prefs": await service.preferences(actor.user_id)},
    )


@post("/notifications/read", name="staff.notifications.read", opt={"any_staff": True})
async def mark_read(request: Request) -> Response:
    await service.mark_all_read(current_actor(request).user_id)
    return redirect(request, "/notifications")


@post("/notifications/preferences", name="staff.notifications.preferences", opt={"any_staff": True})
async def save_preferences(request: Request) -> Response:
    form = await form_data(request)
    await service.set_preferences(
        current_actor(request).user_id, {c: form.get(c) == "on" for c in service.CHANNELS}
    )
    return redirect(request, "/notifications", flash="Preferences saved.")


@get("/notifications/live", name="staff.notifications.live", opt={"any_staff": True, "stream": True})
async def live_badge(request: Request) -> ServerSentEvent:
    """The unread badge, pushed whenever this user gets a notification."""
    user_id = current_actor(request).user_id

    async def badge() -> str:
        return render_block(request, "base.html", "badge", {"unread": await service.unread_count(user_id)})

    return live_stream(
        request, service.LIVE_CHANNEL, badge, lambda notice: notice.get("user_id") == user_id, event="badge"
    )


handlers = [notifications, mark_read, save_preferences, live_badge]
