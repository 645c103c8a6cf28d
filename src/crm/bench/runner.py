"""Runs a benchmark in a throwaway database: on its own local PostgreSQL and Redis unless CRM_PG_ADMIN_URL
(a superuser URL to create the database `crm_bench` on) and CRM_REDIS_URL are set. Never on the app's
database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH_DB = "crm_bench"


def run_bench(name: str, rows: int | None, variants: Path | None = None) -> dict:
    from crm.devstack import LocalServices, ServiceUrls, ensure_database, local_env

    services = None
    admin_url, redis_url = os.environ.get("CRM_PG_ADMIN_URL"), os.environ.get("CRM_REDIS_URL")
    if admin_url and redis_url:
        urls = ServiceUrls(admin_url, redis_url)
    else:
        services = LocalServices(Path(tempfile.mkdtemp(prefix="crm-bench-")), ephemeral=True)
        urls = services.start()
    try:
        asyncio.run(ensure_database(urls.admin_url, BENCH_DB, fresh=True))
        os.environ.update(local_env(urls, BENCH_DB) | {"CRM_DB_POOL": "1", "CRM_LOG_LEVEL": "warning"})
        crm = str(Path(sys.executable).parent / "crm")
        subprocess.run([crm, "migrate"], check=True, capture_output=True)
        if name == "audit":
            from crm.bench.audit import bench_audit

            return asyncio.run(bench_audit(rows))
        if name == "events":
            from crm.bench.events import bench_events

            return asyncio.run(bench_events(rows))
        if name == "search":
            from crm.bench.search import bench_search

            return asyncio.run(bench_search(rows))
        if name == "pages":
            from crm.bench.pages import bench_pages

            return asyncio.run(bench_pages(rows))
        if name == "screening":
            from crm.bench.screening import bench_screening

            return asyncio.run(bench_screening(rows, variants))
        if name == "leads":
            from crm.bench.leads import bench_leads

            return asyncio.run(bench_leads(rows))
        raise ValueError(name)
    finally:
        if services is not None:
            services.stop()
