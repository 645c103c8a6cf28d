"""The `crm` command: run, web, worker, migrate, demo, test, audit verify/checkpoint/keygen, bench."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from crm.cli_i18n import i18n
from crm.cli_screening import screening
from crm.devstack import DEV_DATA
from crm.settings import REPO_ROOT, Settings

BIN = Path(sys.executable).parent


def _crm(*args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "crm"), *args], env=env, check=check)


@click.group()
def main() -> None:
    """Open-source brokerage CRM."""
    from crm.areas import load_areas

    load_areas()  # every command acts with every area's subscribers, kinds and jobs registered


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEV_DATA,
    show_default=True,
    help="Where the local PostgreSQL keeps its data.",
)
def run(host: str, port: int, data_dir: Path) -> None:
    """Web + worker with demo data; starts local PostgreSQL and Redis unless CRM_DATABASE_URL/CRM_REDIS_URL
    are set."""
    from crm.devstack import LocalServices, dev_secrets, ensure_database, local_env

    def stop_on_sigterm(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop_on_sigterm)  # `kill` and process managers stop it like Ctrl-C
    services = mail_sandbox = None
    env = dict(os.environ)
    procs: list[subprocess.Popen] = []
    try:
        if not (env.get("CRM_DATABASE_URL") and env.get("CRM_REDIS_URL")):
            services = LocalServices(data_dir)
            click.echo(f"Starting local PostgreSQL and Redis (data in {data_dir}) ...")
            urls = services.start()
            asyncio.run(ensure_database(urls.admin_url, "crm"))
            env |= local_env(urls, "crm") | dev_secrets(data_dir)
            # The demo signs in through the built-in sandbox identity provider too (a real OIDC round trip).
            env.setdefault("CRM_OIDC_ISSUER", "sandbox")
            env.setdefault("CRM_OIDC_CLIENT_ID", "crm")
            env.setdefault("CRM_OIDC_CLIENT_SECRET", "crm-sandbox-secret")
            env.setdefault("CRM_OIDC_LABEL", "Sign in with the sandbox identity provider")
        if not env.get(
            "CRM_SMTP_HOST"
        ):  # the demo's e-mails go to the sandbox mailbox, shown at /sandbox/mail
            from crm.integrations.mail.sandbox import MailSandbox

            mail_sandbox = MailSandbox(data_dir / "mail")
            env |= {
                "CRM_SMTP_HOST": "127.0.0.1",
                "CRM_SMTP_PORT": str(mail_sandbox.start()),
                "CRM_MAIL_SANDBOX_DIR": str(data_dir / "mail"),
                "CRM_SMTP_FROM": "desk@demo.example",
            }
        env.setdefault("CRM_BASE_URL", f"http://{host}:{port}")
        if env["CRM_BASE_URL"].startswith("http://") and host not in ("127.0.0.1", "localhost", "::1"):
            env.setdefault(
                "CRM_COOKIE_SECURE", "0"
            )  # browsers keep Secure cookies over plain HTTP on loopback only
        _crm("migrate", env=env)
        _crm("demo", env=env)
        procs.append(subprocess.Popen([str(BIN / "crm"), "worker"], env=env))
        procs.append(
            subprocess.Popen([str(BIN / "crm"), "web", "--host", host, "--port", str(port)], env=env)
        )
        from crm.demo import DEMO_PASSWORD, DEMO_USERS

        if not _wait_until_answering(f"http://{host}:{port}/healthz", procs):
            raise click.ClickException("the web server did not start (its output is above)")
        click.echo(f"\n  Brokerage CRM is running at http://{host}:{port}\n")
        click.echo(
            f"  Demo sign-ins (password {DEMO_PASSWORD}); each enrols two-factor authentication on first "
            "sign-in:"
        )
        for email, _name, roles in DEMO_USERS:
            click.echo(f"    {email:32} {roles}")
        click.echo(
            "  No authenticator app at hand? `.venv/bin/crm demo-code EMAIL` prints a demo user's current "
            "code."
        )
        from crm.leads.demo import DEMO_API_KEY

        click.echo(
            f"  Public lead form: http://{host}:{port}/register    API: http://{host}:{port}/api/schema "
            f"(demo key {DEMO_API_KEY})"
        )
        if mail_sandbox is not None:
            click.echo(f"  E-mails are kept, not delivered: http://{host}:{port}/sandbox/mail (admin)")
        click.echo("  Ctrl-C stops everything.\n")
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if mail_sandbox is not None:
            mail_sandbox.stop()
        if services is not None:
            services.stop()


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True)
def web(host: str, port: int) -> None:
    """The web server only (uvicorn), configured from the environment."""
    import uvicorn

    uvicorn.run(
        "crm.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        timeout_graceful_shutdown=3,
        log_level=os.environ.get("CRM_LOG_LEVEL", "info"),
        workers=int(os.environ.get("CRM_WEB_WORKERS", "1")),
    )


@main.command()
def worker() -> None:
    """The arq worker only: jobs and crons listed in crm.worker.WorkerSettings."""
    from arq.worker import run_worker

    from crm.worker import WorkerSettings, redis_settings  # loads the areas before it lists their jobs

    run_worker(WorkerSettings, redis_settings=redis_settings())


@main.command()
@click.option("--check", is_flag=True, help="Fail if the models differ from the migrations (writes nothing).")
def migrate(check: bool) -> None:
    """Apply every area's migrations, grant the app role its privileges and seed the system roles."""
    from crm.schema import apply_migrations, models_match_migrations

    if check:
        problems = models_match_migrations()
        if problems:
            raise click.ClickException("models and migrations differ:\n" + "\n".join(problems))
        click.echo("models and migrations agree")
        return
    from crm.devstack import embedded_default

    with embedded_default(DEV_DATA):
        apply_migrations(Settings.from_env())


@main.command()
def demo() -> None:
    """Load demo entities, teams, staff and clients, and the shared sanctions lists (once)."""
    from crm.demo import load_demo, load_watchlists

    click.echo(asyncio.run(load_demo()))
    click.echo(asyncio.run(load_watchlists()))


@main.command("demo-code")
@click.argument("email")
def demo_code(email: str) -> None:
    """Print the current two-factor code of a demo user (demo accounts only)."""
    from crm.demo import demo_totp_code
    from crm.devstack import embedded_default

    with embedded_default(DEV_DATA):
        click.echo(asyncio.run(demo_totp_code(email)))


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.pass_context
def test(ctx: click.Context) -> None:
    """Run the whole test suite on its own PostgreSQL and Redis (extra arguments go to pytest)."""
    from crm.devstack import LocalServices

    env = dict(os.environ)
    services = None
    if not env.get("CRM_PG_ADMIN_URL"):
        services = LocalServices(Path(tempfile.mkdtemp(prefix="crm-test-")), ephemeral=True)
        urls = services.start()
        env |= {"CRM_PG_ADMIN_URL": urls.admin_url, "CRM_TEST_REDIS_URL": urls.redis_url}
    try:
        args = ctx.args or ["-n", "2", "--dist", "loadfile"]
        code = subprocess.run([sys.executable, "-m", "pytest", *args], env=env, cwd=REPO_ROOT).returncode
    finally:
        if services is not None:
            services.stop()
    if code == 5:
        click.echo("pytest collected no tests: failing on purpose", err=True)
        code = 1
    sys.exit(code)


@main.group()
def audit() -> None:
    """Verify and checkpoint the hash-chained audit trail."""


def _wait_until_answering(url: str, procs: list[subprocess.Popen], seconds: float = 120) -> bool:
    """Poll `url` until it answers 200 (the URL is printed only then); False if a process died first."""
    import urllib.request

    if "://0.0.0.0:" in url or "://[::]:" in url:
        url = url.replace("0.0.0.0", "127.0.0.1").replace("[::]", "[::1]")
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own loopback URL)
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def _embedded_signing_key(data_dir: Path = DEV_DATA) -> str:
    """The signing key `crm run` made in its data folder for the embedded default, if there is one."""
    path = data_dir / "secrets.json"
    return json.loads(path.read_text()).get("CRM_AUDIT_SIGNING_KEY", "") if path.exists() else ""


def _owner_url() -> str:
    settings = Settings.from_env()
    url = settings.migrate_database_url or settings.database_url
    if not url:
        raise click.ClickException("set CRM_DATABASE_URL (or CRM_MIGRATE_DATABASE_URL)")
    return url


@audit.command("verify")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--public-key", help="Trusted base64 public key for the checkpoint (default: the one it names)."
)
@click.option(
    "--workers", default=os.cpu_count() or 1, show_default=True, help="Processes checking ranges in parallel."
)
def audit_verify(checkpoint_file: str | None, public_key: str | None, workers: int) -> None:
    """Check every link and hash of the chain; name the first bad row. Exit 1 if anything is wrong."""
    import asyncpg

    from crm.core.audit.verify import Checkpoint, check_checkpoint, verify_chain

    checkpoint = Checkpoint(**json.loads(Path(checkpoint_file).read_text())) if checkpoint_file else None

    async def go() -> dict:
        conn = await asyncpg.connect(_owner_url())
        try:
            started = time.perf_counter()
            result = (await verify_chain(conn, dsn=_owner_url(), workers=workers)).as_dict()
            elapsed = time.perf_counter() - started
            result["seconds"] = round(elapsed, 3)
            result["rows_per_s"] = round(result["rows_checked"] / elapsed) if elapsed else None
            if checkpoint is not None:
                problem = await check_checkpoint(conn, checkpoint, public_key)
                result["checkpoint"] = problem or "ok"
                result["ok"] = result["ok"] and problem is None
            return result
        finally:
            await conn.close()

    from crm.devstack import embedded_default

    with embedded_default(DEV_DATA):
        result = asyncio.run(go())
    click.echo(json.dumps(result, default=str))
    if not result["ok"]:
        sys.exit(1)


@audit.command("checkpoint")
@click.option("--out", type=click.Path(dir_okay=False), help="File to write (default: standard output).")
def audit_checkpoint(out: str | None) -> None:
    """Sign the chain head (hash and row count) with CRM_AUDIT_SIGNING_KEY, for safe keeping elsewhere."""
    import asyncpg

    from crm.core.audit.verify import load_signing_key, make_checkpoint
    from crm.devstack import embedded_default

    async def go(key: str):
        conn = await asyncpg.connect(_owner_url())
        try:
            return await make_checkpoint(conn, load_signing_key(key))
        finally:
            await conn.close()

    with embedded_default(DEV_DATA):
        key = Settings.from_env().audit_signing_key or _embedded_signing_key()
        if not key:
            raise click.ClickException("set CRM_AUDIT_SIGNING_KEY (see `crm audit keygen`)")
        checkpoint = asyncio.run(go(key))
    text = json.dumps(checkpoint.__dict__, indent=2)
    if out:
        Path(out).write_text(text)
    else:
        click.echo(text)


@audit.command("keygen")
def audit_keygen() -> None:
    """Print a new Ed25519 signing key (for CRM_AUDIT_SIGNING_KEY) and its public key."""
    from crm.core.audit.verify import _public_b64, load_signing_key, new_signing_key

    private = new_signing_key()
    click.echo(
        json.dumps({"CRM_AUDIT_SIGNING_KEY": private, "public_key": _public_b64(load_signing_key(private))})
    )


VARIANTS = "screening: a labelled CSV (query, dob, expected_ent_num) to score as well."


@main.command()
@click.argument("name", type=click.Choice(["audit", "events", "leads", "pages", "screening", "search"]))
@click.option("--rows", default=None, type=int, help="Override the benchmark's row count.")
@click.option("--variants", type=click.Path(exists=True, dir_okay=False, path_type=Path), help=VARIANTS)
def bench(name: str, rows: int | None, variants: Path | None) -> None:
    """Run a benchmark and print one JSON line of figures (own PostgreSQL/Redis unless URLs are set)."""
    from crm.bench.runner import run_bench

    click.echo(json.dumps(run_bench(name, rows, variants)))


main.add_command(screening)
main.add_command(i18n)

if __name__ == "__main__":
    main()
