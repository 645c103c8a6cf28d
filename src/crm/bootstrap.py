"""Prepare a fresh machine and hand over to the `crm` command. Standard library only.

    python3 src/crm/bootstrap.py run     # web + worker + demo data, own PostgreSQL/Redis when no URLs are set
    python3 src/crm/bootstrap.py test    # the whole test suite, on its own PostgreSQL/Redis

Steps: install the system packages that are missing (as root, through apt), create `.venv`, install the locked
dependencies with uv, then exec `.venv/bin/crm <command>`. Every step is skipped when already done.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"
UV_VERSION = "0.13.9"


def log(message: str) -> None:
    print(f"[bootstrap] {message}", flush=True)


def has_postgres() -> bool:
    return bool(shutil.which("pg_ctl") or glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))


def has_redis() -> bool:
    return bool(shutil.which("redis-server"))


def has_chromium() -> bool:
    return bool(shutil.which("chromium") or shutil.which("chromium-browser"))


def has_venv_module() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import ensurepip, venv"], capture_output=True)
    return probe.returncode == 0


def missing_system_packages(command: str, wants_external_services: bool) -> list[str]:
    packages = []
    if wants_external_services:
        if not has_postgres():
            packages.append("postgresql")
        if not has_redis():
            packages.append("redis-server")
    if command == "test" and not has_chromium():
        packages += ["chromium", "chromium-driver"]
    if not has_venv_module():
        packages.append(f"python3.{sys.version_info.minor}-venv")
    return packages


def install_system_packages(packages: list[str]) -> None:
    if not packages:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        log(f"not root or no apt-get: cannot install {', '.join(packages)}; falling back where possible")
        return
    log(f"apt-get install {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages], check=True, env=env
    )


def ensure_venv(extras: list[str]) -> None:
    python = VENV / "bin" / "python"
    if not python.exists():
        log("creating .venv")
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    uv = VENV / "bin" / "uv"
    if not uv.exists():
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"uv=={UV_VERSION}"], check=True)
    lock = (ROOT / "uv.lock").read_bytes() + (ROOT / "pyproject.toml").read_bytes()
    stamp_value = hashlib.sha256(lock + ",".join(sorted(extras)).encode()).hexdigest()
    stamp = VENV / f".crm-installed-{'-'.join(sorted(extras)) or 'base'}"
    if stamp.exists() and stamp.read_text() == stamp_value:
        return
    log(f"installing locked dependencies (extras: {', '.join(extras) or 'none'})")
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(VENV), "VIRTUAL_ENV": str(VENV)}
    args = [str(uv), "sync", "--frozen", "--inexact", "--python", str(python), "--quiet"]
    for extra in extras:
        args += ["--extra", extra]
    subprocess.run(args, check=True, cwd=ROOT, env=env)
    stamp.write_text(stamp_value)


def main(argv: list[str]) -> None:
    if not argv or argv[0] not in {"run", "test"}:
        sys.exit(__doc__)
    command, rest = argv[0], argv[1:]
    wants_external_services = not (os.environ.get("CRM_DATABASE_URL") and os.environ.get("CRM_REDIS_URL"))
    install_system_packages(missing_system_packages(command, wants_external_services))
    # The test suite also exercises the embedded fallback, so `test` always installs it.
    extras = ["test", "embedded"] if command == "test" else []
    if command == "run" and wants_external_services and not (has_postgres() and has_redis()):
        extras.append("embedded")
    ensure_venv(extras)
    crm = str(VENV / "bin" / "crm")
    os.chdir(ROOT)
    os.execv(crm, [crm, command, *rest])


if __name__ == "__main__":
    main(sys.argv[1:])
