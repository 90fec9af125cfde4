"""The schema: Alembic's migrations and the "create_all, then stamp" shortcut agree.

A new database gets ``metadata.create_all`` stamped with ``SCHEMA_REVISION`` (fast); an
older one runs the migrations. Both must end with the same tables, columns, keys and
indexes, on both engines, or the next migration would meet two different databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

import bot.storage.migrations
from bot.storage.database import Database, Location
from bot.storage.schema import SCHEMA_REVISION, meta
from tests.conftest import Backend, PostgresCluster
from tests.storage.rows import snapshot

MIGRATIONS = Path(bot.storage.migrations.__file__).resolve().parent


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def schema(database: Database) -> dict[str, dict[str, Any]]:
    """Everything the database says about its tables, as comparable values."""
    with database.read() as conn:
        found = inspect(conn)
        tables: dict[str, dict[str, Any]] = {}
        for table in sorted(found.get_table_names()):
            key = found.get_pk_constraint(table)
            tables[table] = {
                "columns": [
                    (
                        c["name"],
                        c["type"].compile(dialect=conn.dialect),
                        c["nullable"],
                        c.get("default"),
                    )
                    for c in found.get_columns(table)
                ],
                "primary key": (key.get("name"), tuple(key["constrained_columns"])),
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                    for i in found.get_indexes(table)
                ),
                "unique": sorted(
                    (u["name"], tuple(u["column_names"]))
                    for u in found.get_unique_constraints(table)
                ),
                "foreign keys": sorted(
                    (
                        tuple(f["constrained_columns"]),
                        f["referred_table"],
                        tuple(f["referred_columns"]),
                        f["options"].get("ondelete"),
                    )
                    for f in found.get_foreign_keys(table)
                ),
            }
        return tables


@pytest.fixture
def another_blank(
    engine: Backend, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Location]:
    """A second empty database on the same engine as ``engine``."""
    if engine.name == "sqlite":
        (tmp_path / "other").mkdir()
        yield Location.sqlite(tmp_path / "other" / "blank.sqlite3")
        return
    cluster: PostgresCluster = request.getfixturevalue("postgresql_server")
    name = cluster.create_database()
    yield Location.from_url(cluster.url(name))
    cluster.drop_database(name)


def test_schema_revision_is_alembics_head() -> None:
    assert ScriptDirectory.from_config(_config()).get_heads() == [SCHEMA_REVISION]


def test_the_migrations_from_empty_build_what_create_all_builds(
    engine: Backend, another_blank: Location, shipped: Path
) -> None:
    where = Location.from_url(engine.url)
    if where.path is not None:
        where.path.parent.mkdir(parents=True)
    migrated = Database(where, migrate=False)
    assert migrated.revision() is None
    with migrated.write() as conn:  # as an operator's `alembic upgrade head` would
        config = _config()
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
    created = Database(another_blank)  # a new database: create_all, then stamp
    try:
        assert schema(migrated) == schema(created)
        assert migrated.revision() == created.revision() == SCHEMA_REVISION
        # and the migrated one is one the bot opens and writes as it is
        reopened = engine.open()
        change = engine.store(shipped, reopened).alias("eln", "after migrating", by="m")
        assert change.id == 1
    finally:
        migrated.close()
        created.close()


def test_opening_twice_changes_nothing(engine: Backend, shipped: Path) -> None:
    store = engine.store(shipped)
    store.edit("eln", {"answer": "Stays as it is."}, by="m")

    def state(database: Database) -> tuple[Any, ...]:
        with database.read() as conn:
            values = sorted(tuple(r) for r in conn.execute(select(meta)))
        return schema(database), snapshot(database), values, database.revision()

    before = state(engine.database)
    again = engine.open()
    assert state(again) == before
    assert engine.store(shipped, again).merged_document() == store.merged_document()
