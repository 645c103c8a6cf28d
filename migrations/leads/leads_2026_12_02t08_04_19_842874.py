from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-02T08:04:19:842874"
VERSION = "1.38.0"
DESCRIPTION = "leads: webhook secret rotation and signature scheme"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="leads", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="IntakeSource",
        tablename="lead_source",
        column_name="previous_secret",
        db_column_name="previous_secret",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 128,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="IntakeSource",
        tablename="lead_source",
        column_name="previous_secret_until",
        db_column_name="previous_secret_until",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    manager.add_column(
        table_class_name="IntakeSource",
        tablename="lead_source",
        column_name="signature_scheme",
        db_column_name="signature_scheme",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 20,
            "default": "timestamped",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
