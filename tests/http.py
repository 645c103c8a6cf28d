"""An httpx client on the ASGI app in the test's own event loop, handling the session and CSRF cookies."""

from __future__ import annotations

import html
import re

import httpx

from crm.portals.staff.middleware import SESSION_COOKIE
from tests.factories import make_session


class StaffClient:
    """GET/POST like a browser: unsafe requests carry the CSRF token from the cookie."""

    def __init__(self, app):
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="https://testserver", follow_redirects=False
        )

    async def __aenter__(self) -> StaffClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.http.aclose()

    async def sign_in_as(self, user: dict) -> StaffClient:
        self.http.cookies.set(SESSION_COOKIE, await make_session(user))
        return self

    async def get(self, url: str, **kw) -> httpx.Response:
        return await self.http.get(url, **kw)

    async def csrf(self) -> str:
        if not self.http.cookies.get("crm_csrf"):
            await self.http.get("/login")
        return self.http.cookies.get("crm_csrf")

    async def post(self, url: str, data: dict | list | None = None, **kw) -> httpx.Response:
        headers = {"x-csrftoken": await self.csrf(), **kw.pop("headers", {})}
        return await self.http.post(url, data=data or {}, headers=headers, **kw)


def text_of(response: httpx.Response) -> str:
    """The visible text of a page, whitespace collapsed (for assertions a user would notice)."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", response.text, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip())


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(url: str, proc, seconds: float = 60) -> None:
    """Poll `url` until it answers; fail early with the server's output if the process died."""
    import time
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None:
                out = proc.stdout.read() if proc.stdout else ""
                raise RuntimeError(f"server exited: {out}") from None
            time.sleep(0.05)
    raise TimeoutError(url)
