"""One typed settings object, read from the environment each time `Settings.from_env()` is called."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment; see docs/configuration.md for each variable."""

    # "production" refuses sandboxes and weak secrets and forces secure cookies (production_problems).
    env: str = "development"
    # Application role: may not UPDATE, DELETE or TRUNCATE the audit trail.
    database_url: str = ""
    # Owner role used for migrations and grants; defaults to database_url.
    migrate_database_url: str = ""
    # When set, `crm migrate` grants this role the app's privileges (and no more).
    db_app_role: str = ""
    db_pool: bool = True
    db_pool_max: int = 10
    redis_url: str = ""
    secret_key: str = "dev-insecure-secret-change-me"
    cookie_secure: bool = True
    base_url: str = "http://127.0.0.1:8000"
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    reveal_minutes: int = 10
    lockout_attempts: int = 5
    lockout_minutes: int = 15
    audit_signing_key: str = ""
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_label: str = "Single sign-on"
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "crm@localhost"
    mail_sandbox_dir: str = ""  # set by `crm run` when it starts the sandbox mail server (/sandbox/mail)
    templates_dir: Path = field(default_factory=lambda: REPO_ROOT / "templates")
    static_dir: Path = field(default_factory=lambda: REPO_ROOT / "static")
    debug: bool = False

    @classmethod
    def from_env(cls) -> Settings:
        database_url = os.environ.get("CRM_DATABASE_URL", "")
        production = os.environ.get("CRM_ENV", "").strip().lower() == "production"
        return cls(
            env="production" if production else "development",
            database_url=database_url,
            migrate_database_url=os.environ.get("CRM_MIGRATE_DATABASE_URL", "") or database_url,
            db_app_role=os.environ.get("CRM_DB_APP_ROLE", ""),
            db_pool=_flag("CRM_DB_POOL", True),
            db_pool_max=_int("CRM_DB_POOL_MAX", 10),
            redis_url=os.environ.get("CRM_REDIS_URL", ""),
            secret_key=os.environ.get("CRM_SECRET_KEY", cls.secret_key),
            cookie_secure=production or _flag("CRM_COOKIE_SECURE", True),
            base_url=os.environ.get("CRM_BASE_URL", cls.base_url),
            session_idle_minutes=_int("CRM_SESSION_IDLE_MINUTES", 30),
            session_absolute_hours=_int("CRM_SESSION_ABSOLUTE_HOURS", 12),
            reveal_minutes=_int("CRM_REVEAL_MINUTES", 10),
            lockout_attempts=_int("CRM_LOCKOUT_ATTEMPTS", 5),
            lockout_minutes=_int("CRM_LOCKOUT_MINUTES", 15),
            audit_signing_key=os.environ.get("CRM_AUDIT_SIGNING_KEY", ""),
            oidc_issuer=os.environ.get("CRM_OIDC_ISSUER", ""),
            oidc_client_id=os.environ.get("CRM_OIDC_CLIENT_ID", ""),
            oidc_client_secret=os.environ.get("CRM_OIDC_CLIENT_SECRET", ""),
            oidc_label=os.environ.get("CRM_OIDC_LABEL", cls.oidc_label),
            smtp_host=os.environ.get("CRM_SMTP_HOST", ""),
            smtp_port=_int("CRM_SMTP_PORT", 25),
            smtp_from=os.environ.get("CRM_SMTP_FROM", cls.smtp_from),
            mail_sandbox_dir=os.environ.get("CRM_MAIL_SANDBOX_DIR", ""),
            debug=_flag("CRM_DEBUG", False),
        )

    @property
    def production(self) -> bool:
        return self.env == "production"

    def production_problems(self) -> list[str]:
        """Why this configuration must not serve real users (CRM_ENV=production), or [] when it may."""
        if not self.production:
            return []
        problems = []
        if self.secret_key == Settings.secret_key or len(self.secret_key) < 32:
            problems.append("CRM_SECRET_KEY must be a random value of at least 32 characters")
        if self.oidc_sandbox:
            problems.append("CRM_OIDC_ISSUER=sandbox signs anyone in as any staff user: set a real provider")
        if self.mail_sandbox_dir:
            problems.append("the sandbox mail server keeps e-mails instead of sending: set CRM_SMTP_HOST")
        if self.oidc_issuer and len(self.oidc_client_secret) < 16:
            problems.append("CRM_OIDC_CLIENT_SECRET is missing or too short")
        if not self.audit_signing_key:
            problems.append("CRM_AUDIT_SIGNING_KEY is required to sign audit checkpoints (crm audit keygen)")
        return problems

    def refuse_unsafe_production(self) -> None:
        problems = self.production_problems()
        if problems:
            raise SystemExit("CRM_ENV=production refuses to start: " + "; ".join(problems) + ".")

    @property
    def sso_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def oidc_sandbox(self) -> bool:
        """CRM_OIDC_ISSUER=sandbox mounts the built-in identity provider at /sandbox/oidc (demo and tests)."""
        return self.oidc_issuer == "sandbox"

    @property
    def oidc_issuer_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/sandbox/oidc" if self.oidc_sandbox else self.oidc_issuer
