"""A live `crm web` server on the worker's test database, and headless Debian Chromium driven by
Playwright."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from crm.portals.staff.middleware import SESSION_COOKIE
from tests.factories import make_session
from tests.http import free_port, wait_until_serving

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def live_server():
    port = free_port()
    env = dict(os.environ) | {
        "CRM_DB_POOL": "1",
        "CRM_DB_POOL_MAX": "4",
        "CRM_BASE_URL": f"http://127.0.0.1:{port}",
    }
    crm = str(Path(sys.executable).parent / "crm")
    proc = subprocess.Popen(
        [crm, "web", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_serving(f"{url}/healthz", proc)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def live_worker():
    """A real `crm worker` (event dispatcher and crons) on the worker's test database, for one test."""
    crm = str(Path(sys.executable).parent / "crm")
    env = dict(os.environ) | {"CRM_DB_POOL": "1", "CRM_DB_POOL_MAX": "4"}
    proc = subprocess.Popen([crm, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield proc
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="session")
async def browser(anyio_backend):
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def new_page(browser, live_server):
    """new_page(user=None): a page in a fresh browser context, optionally already signed in as `user`."""
    contexts = []

    async def make(user: dict | None = None):
        context = await browser.new_context(base_url=live_server)
        context.set_default_timeout(10_000)
        contexts.append(context)
        if user is not None:
            token = await make_session(user)
            await context.add_cookies(
                [
                    {
                        "name": SESSION_COOKIE,
                        "value": token,
                        "url": live_server,
                        "httpOnly": True,
                        "secure": True,
                        "sameSite": "Lax",
                    }
                ]
            )
        return await context.new_page()

    yield make
    for context in contexts:
        await context.close()
