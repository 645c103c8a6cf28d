"""Server-sent event streams for live pages: one helper for every live list, badge and progress bar.

A stream sends its fragment at once (so a reconnection resynchronises), then again after any burst of notices
on its Redis channel that `concerns` the viewer; it sends a keep-alive comment every 15 s and ends when the
session does. Fragments are rendered by the same scoped queries as the page."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from litestar import Request
from litestar.response import ServerSentEvent, ServerSentEventMessage

from crm.core.live import LiveHub, drain
from crm.identity.sessions import load_session
from crm.portals.staff.middleware import SESSION_COOKIE

KEEPALIVE_SECONDS = 15


def hub(request: Request) -> LiveHub:
    state = request.app.state
    if getattr(state, "live_hub", None) is None:
        state.live_hub = LiveHub(state.settings.redis_url)
    return state.live_hub


def live_stream(
    request: Request,
    channel: str,
    render: Callable[[], Awaitable[str]],
    concerns: Callable[[dict], bool],
    event: str = "rows",
) -> ServerSentEvent:
    settings = request.app.state.settings
    token, meta = request.cookies.get(SESSION_COOKIE), request.scope["state"]["meta"]

    async def stream():
        async with hub(request).listen(channel) as inbox:
            yield ServerSentEventMessage(event=event, data=await render())
            while True:
                try:
                    notices = [await asyncio.wait_for(inbox.get(), timeout=KEEPALIVE_SECONDS)]
                except TimeoutError:
                    session, _ = await load_session(token, meta, settings, touch=False)
                    if session is None or not session.mfa_verified:
                        return
                    yield ServerSentEventMessage(comment="keepalive")
                    continue
                notices += drain(inbox)
                if any(concerns(n) for n in notices):
                    yield ServerSentEventMessage(event=event, data=await render())

    return ServerSentEvent(stream(), headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def job_progress_stream(
    request: Request, job_id: str, render: Callable[[], Awaitable[str]]
) -> ServerSentEvent:
    """The live progress of one background job (`JobRun.progress`): the page's `progress` fragment,
    re-rendered."""
    from crm.core.jobs import PROGRESS_CHANNEL

    return live_stream(
        request, PROGRESS_CHANNEL, render, lambda notice: notice.get("job_id") == job_id, event="progress"
    )
