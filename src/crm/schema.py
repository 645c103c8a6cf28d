"""Applying migrations, granting the application role, and checking models against migrations."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from crm.core.piccolo_apps import migrations_root
from crm.settings import Settings

PICCOLO = str(Path(sys.executable).parent / "piccolo")

# The app role may read and write business tables but never rewrite or erase the audit trail.
GRANTS = """
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role};
REVOKE UPDATE, DELETE, TRUNCATE ON audit_record FROM {role};
REVOKE DELETE, TRUNCATE ON audit_chain_head FROM {role};
REVOKE ALL ON migration FROM {role};
"""


def _piccolo(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([PICCOLO, *args], env=env, capture_output=True, text=True)


def apply_migrations(settings: Settings) -> None:
    """Run `piccolo migrations forwards all` as the owner, then grants and reference data."""
    env = dict(os.environ) | {
        "CRM_DATABASE_URL": settings.migrate_database_url,
        "PICCOLO_CONF": "crm.piccolo_conf",
    }
    result = _piccolo(["migrations", "forwards", "all"], env)
    if result.returncode != 0 or "Error" in result.stdout:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit("migrations failed")
    asyncio.run(_after_migrations(settings))


async def _after_migrations(settings: Settings) -> None:
    import asyncpg

    conn = await asyncpg.connect(settings.migrate_database_url)
    try:
        if settings.db_app_role:
            role = settings.db_app_role
            if not role.replace("_", "").isalnum():
                raise SystemExit(f"invalid CRM_DB_APP_ROLE {role!r}")
            await conn.execute(GRANTS.format(role=role))
    finally:
        await conn.close()
    os.environ["CRM_DATABASE_URL"] = settings.migrate_database_url
    from crm.core.org.roles import ensure_system_roles

    created = await ensure_system_roles()
    if created:
        print(f"seeded {created} system roles")


def models_match_migrations() -> list[str]:
    """Files that `piccolo migrations new all --auto` would write (none means models and migrations agree)."""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "migrations"
        shutil.copytree(migrations_root(), copy)
        before = {p.relative_to(copy) for p in copy.rglob("*.py")}
        env = dict(os.environ) | {"CRM_MIGRATIONS_DIR": str(copy), "PICCOLO_CONF": "crm.piccolo_conf"}
        result = _piccolo(["migrations", "new", "all", "--auto"], env)
        if result.returncode != 0:
            return [f"piccolo failed: {result.stdout}{result.stderr}"]
        after = {p.relative_to(copy) for p in copy.rglob("*.py")}
        return [f"would create migrations/{p}" for p in sorted(after - before)]
