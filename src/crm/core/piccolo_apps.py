"""One Piccolo app per area; migrations live in `migrations/<area>/` at the repository root."""

import os
from pathlib import Path

from piccolo.conf.apps import AppConfig

from crm.settings import REPO_ROOT


def migrations_root() -> Path:
    # Overridable so a test can check the models against a scratch copy of the migrations.
    return Path(os.environ.get("CRM_MIGRATIONS_DIR") or REPO_ROOT / "migrations")


def area_app_config(name: str, tables: list, migration_dependencies: list[str] | None = None) -> AppConfig:
    """The Piccolo AppConfig of one area, with its migrations folder under `migrations/<name>/`."""
    return AppConfig(
        app_name=name,
        migrations_folder_path=str(migrations_root() / name),
        table_classes=tables,
        migration_dependencies=migration_dependencies or [],
        commands=[],
    )
