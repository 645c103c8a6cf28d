"""The local-services launcher: the embedded fallback (wheels, no system PostgreSQL or Redis) really works."""

import asyncio
from pathlib import Path
from unittest import mock

import asyncpg
import redis

import crm.devstack as devstack


def test_embedded_postgres_and_redis_start_and_stop(tmp_path: Path):
    services = devstack.LocalServices(tmp_path / "data", ephemeral=True)
    with (
        mock.patch.object(devstack, "_pg_bin_dir", return_value=None),
        mock.patch.object(devstack.shutil, "which", return_value=None),
    ):
        urls = services.start()
    try:

        async def query() -> str:
            conn = await asyncpg.connect(urls.admin_url)
            try:
                return await conn.fetchval("SELECT version()")
            finally:
                await conn.close()

        assert asyncio.run(query()).startswith("PostgreSQL")
        assert redis.Redis.from_url(urls.redis_url).ping()
    finally:
        services.stop()


def test_a_second_process_cannot_share_a_data_dir(tmp_path: Path):
    first = devstack.LocalServices(tmp_path / "data", ephemeral=False)
    first.start()
    try:
        second = devstack.LocalServices(tmp_path / "data")
        try:
            second.start()
            raise AssertionError("second start should have been refused")
        except RuntimeError as exc:
            assert "another crm process" in str(exc)
    finally:
        first.stop()


def test_replace_database_keeps_the_socket_directory():
    url = "postgresql://postgres@/postgres?host=/tmp/crm-abc"
    assert (
        devstack.replace_database(url, "crm_test_gw1", "crm_app")
        == "postgresql://crm_app@/crm_test_gw1?host=/tmp/crm-abc"
    )
