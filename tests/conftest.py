"""Test set-up: real PostgreSQL and Redis, one database (and Redis db) per xdist worker, clean tables per
test.

`crm test` starts the servers once and passes CRM_PG_ADMIN_URL / CRM_TEST_REDIS_URL; a bare `pytest` starts
its own. The environment is set here, before anything imports crm.piccolo_conf.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
TEST_DB = f"crm_test_{WORKER}"
REDIS_DB = int(WORKER.removeprefix("gw") or 0) + 1

_services = None


def _configure_environment() -> None:
    global _services
    from crm.devstack import LocalServices, ServiceUrls, ensure_database, local_env

    admin_url = os.environ.get("CRM_PG_ADMIN_URL")
    redis_url = os.environ.get("CRM_TEST_REDIS_URL")
    if not admin_url:
        _services = LocalServices(Path(tempfile.mkdtemp(prefix=f"crm-pytest-{WORKER}-")), ephemeral=True)
        urls = _services.start()
    else:
        urls = ServiceUrls(admin_url=admin_url, redis_url=redis_url or "")
    env = local_env(urls, TEST_DB)
    env["CRM_REDIS_URL"] = f"{urls.redis_url}?db={REDIS_DB}"
    os.environ.update(env)
    os.environ.update(
        {
            "CRM_DB_POOL": "0",
            "CRM_SECRET_KEY": "test-secret-key",
            "CRM_COOKIE_SECURE": "1",
            "CRM_PG_ADMIN_URL": urls.admin_url,
            "CRM_LOG_LEVEL": "warning",
        }
    )
    from crm.core.audit.verify import new_signing_key

    os.environ["CRM_AUDIT_SIGNING_KEY"] = new_signing_key()
    asyncio.run(ensure_database(urls.admin_url, TEST_DB, fresh=True))
    crm = Path(sys.executable).parent / "crm"
    subprocess.run([str(crm), "migrate"], check=True, capture_output=True)
    from crm.areas import load_areas

    load_areas()  # as every entry point does


def pytest_configure(config: pytest.Config) -> None:
    _configure_environment()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _services is not None:
        _services.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if asyncio.iscoroutinefunction(getattr(item, "function", None)):
            item.add_marker(pytest.mark.anyio)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


async def _owner_execute(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(os.environ["CRM_MIGRATE_DATABASE_URL"])
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


CLEAN = """
SET session_replication_role = replica;
DO $$ DECLARE names text; BEGIN
  SELECT string_agg(format('%I', tablename), ', ') INTO names FROM pg_tables
  WHERE schemaname = 'public' AND tablename NOT IN ('migration', 'audit_chain_head');
  EXECUTE 'TRUNCATE ' || names || ' RESTART IDENTITY CASCADE';
END $$;
UPDATE audit_chain_head SET seq = 0, row_hash = repeat('0', 64);
SET session_replication_role = origin;
"""


@pytest.fixture(autouse=True)
async def clean_database(anyio_backend):
    """Every test starts from empty tables (the audit trail included), an empty Redis database (event ids
    restart, so arq must not remember earlier tests' job ids) and the seeded system roles."""
    await _owner_execute(CLEAN)
    import redis.asyncio as redis

    client = redis.Redis.from_url(os.environ["CRM_REDIS_URL"])
    await client.flushdb()
    await client.aclose()
    from crm.core.org.roles import ensure_system_roles

    await ensure_system_roles()
    yield


@pytest.fixture
def settings():
    from crm.settings import Settings

    return Settings.from_env()


@pytest.fixture
async def app(settings):
    """The app with its connection pool open in the test's event loop, as the lifespan opens it under
    uvicorn (httpx's ASGI transport runs no lifespan)."""
    from crm.app import create_app
    from crm.core.db import engine, start_pool

    app = create_app(settings)
    await start_pool(1, settings.db_pool_max)
    yield app
    await engine().close_connection_pool()


@pytest.fixture
def owner_execute():
    return _owner_execute


class Inbox:
    """What a local SMTP server received: (recipients, raw message) pairs."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append((envelope.rcpt_tos, envelope.content.decode()))
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch):
    """A real SMTP server (aiosmtpd) on a free port, configured as the app's mail server."""
    from aiosmtpd.controller import Controller

    from tests.http import free_port

    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("CRM_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CRM_SMTP_PORT", str(port))
    yield inbox
    controller.stop()


async def run_worker(settings) -> None:
    """A real arq worker with every job, run until the queue is empty."""
    from arq.worker import Worker

    from crm.core.jobs import arq_functions
    from crm.worker import redis_settings

    worker = Worker(
        functions=arq_functions(),
        redis_settings=redis_settings(settings),
        burst=True,
        poll_delay=0.02,
        on_startup=None,
        handle_signals=False,
    )
    worker.ctx["settings"] = settings
    await worker.main()
    await worker.close()


async def run_jobs(settings) -> None:
    """Deliver pending events (a requested job is one), then run the jobs in a real worker."""
    from crm.core.events.dispatcher import dispatch_pending

    await dispatch_pending()
    await run_worker(settings)
