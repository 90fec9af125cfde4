"""One database for moderator edits and usage records: SQLite by default, or PostgreSQL.

SQLAlchemy Core speaks to both engines and Alembic migrates the schema at start, so the
same statements run on an embedded file and on a server several bot processes share.

SQLite runs in WAL mode (readers never wait for the writer) with ``synchronous=FULL``
(a commit survives a power cut) and a busy timeout; a write transaction starts with
``BEGIN IMMEDIATE`` so two writers queue instead of failing half-way. PostgreSQL writers
serialise on a row lock (see ``bot.storage.store``).

Every failure leaves here as a StoreError naming the database, in one line: a full disk,
a read-only file, a server that cannot be reached.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    create_engine,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from bot.errors import StoreError
from bot.storage.schema import SCHEMA_REVISION, meta, metadata

log = logging.getLogger(__name__)

MEMORY_URL = "sqlite+pysqlite://"
BUSY_TIMEOUT_MS = 30_000
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock key for migrations: any fixed number, the same in every process
_MIGRATION_LOCK = 0x454C4E


@dataclass(frozen=True, slots=True)
class Location:
    """Where the data lives: an SQLAlchemy URL and how to name it to people."""

    url: str
    label: str
    path: Path | None  # the SQLite file, None for a server

    @classmethod
    def from_url(cls, database_url: str) -> Location:
        """A location from ``ELN_DATABASE_URL`` (PostgreSQL, or an SQLite file elsewhere)."""
        url = make_url(_driver_url(database_url))
        if url.get_backend_name() == "sqlite":
            return cls.sqlite(Path(url.database or ""))
        label = url.render_as_string(hide_password=True)
        return cls(url.render_as_string(hide_password=False), label, None)

    @classmethod
    def sqlite(cls, path: Path) -> Location:
        path = Path(path).absolute()
        return cls(f"sqlite+pysqlite:///{path}", str(path), path)

    @classmethod
    def memory(cls) -> Location:
        """An empty database that lives and dies with the process: reading creates nothing."""
        return cls(MEMORY_URL, "(none yet)", None)

    def exists(self) -> bool:
        """Whether there is anything to read (a server is taken to exist)."""
        return self.path is None or self.path.is_file()


def _driver_url(url: str) -> str:
    """``postgresql://`` as users write it, with the driver installed alongside (psycopg 3)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Database:
    """An open database; ``write()`` and ``read()`` hand out transactions.

    Thread-safe (a connection pool); every call blocks, so async code runs it in a
    worker thread.
    """

    def __init__(self, location: Location, *, migrate: bool = True) -> None:
        self.location = location
        self.engine = _engine(location)
        if migrate:
            self.migrate()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that may write; committed when the block ends without error."""
        with self.errors(), self.engine.connect() as plain:
            conn = plain.execution_options(eln_write=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction: one consistent snapshot for the whole block."""
        with self.errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Turn a driver's failure into one StoreError a moderator or operator can act on."""
        try:
            yield
        except StoreError:
            raise
        except SQLAlchemyError as exc:
            raise StoreError(self.explain(exc)) from None

    def explain(self, exc: SQLAlchemyError) -> str:
        """One line naming the database and what went wrong, never the password."""
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        lowered = detail.lower()
        if "full" in lowered or "no space" in lowered:
            reason = "is full (no space left)"
        elif "readonly" in lowered or "read-only" in lowered or "read only" in lowered:
            reason = "is read-only"
        elif "locked" in lowered or "busy" in lowered:
            reason = "is busy with another change; try again"
        elif "unable to open" in lowered:
            reason = self._cannot_open()
        elif isinstance(exc, OperationalError | DBAPIError) and self.location.path is None:
            reason = f"could not be used ({detail})"
        else:
            reason = f"failed ({detail})"
        return f"The database {self.location.label} {reason}."

    def _cannot_open(self) -> str:
        """Why SQLite could not open its file; a read-only file system is said so by name.

        SQLite reports both alike ("unable to open database file"): a WAL database without
        its -wal and -shm files beside it cannot be opened even for reading where they
        cannot be created.
        """
        folder = self.location.path.parent if self.location.path is not None else None
        if folder is not None and folder.is_dir() and os.statvfs(folder).f_flag & os.ST_RDONLY:
            return "is read-only (it is on a read-only file system)"
        return "cannot be opened (does its folder exist, and may the bot write there?)"

    # schema -----------------------------------------------------------------------------

    def revision(self) -> str | None:
        """The schema version in the database, None when it has no tables yet."""
        with self.read() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return _version(conn)

    def migrate(self) -> None:
        """Bring the schema to the newest version.

        A new database gets the current schema at once and is stamped with its revision
        (Alembic's "create_all, then stamp" recipe), so only an older database pays for
        importing Alembic and replaying migrations.
        """
        if self.revision() == SCHEMA_REVISION:
            return
        with self.write() as conn:
            if self.dialect == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            if not inspect(conn).has_table("alembic_version"):
                metadata.create_all(conn)
                alembic_version.create(conn)
                conn.execute(alembic_version.insert().values(version_num=SCHEMA_REVISION))
            elif _version(conn) != SCHEMA_REVISION:  # another process may just have done it
                _upgrade(conn)
        log.info("database %s is at schema version %s", self.location.label, SCHEMA_REVISION)

    # small shared values ----------------------------------------------------------------

    def get_meta(self, key: str, conn: Connection | None = None) -> str | None:
        if conn is None:
            with self.read() as fresh:
                return self.get_meta(key, fresh)
        row = conn.execute(select(meta.c.value).where(meta.c.key == key)).first()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str, conn: Connection | None = None) -> None:
        if conn is None:
            with self.write() as fresh:
                self.set_meta(key, value, fresh)
            return
        conn.execute(upsert(conn, meta, {"key": key, "value": value}, keys=("key",)))


def upsert(conn: Connection, table: Table, values: dict[str, Any], *, keys: Sequence[str]) -> Any:
    """INSERT, or UPDATE the row with the same ``keys``, as one statement.

    Not UPDATE-then-INSERT: on PostgreSQL two processes that both find no row would both
    insert, and the second fails on the unique key (SQLite's writers queue, so it never
    sees the race). Both engines speak ``INSERT ... ON CONFLICT DO UPDATE``.
    """
    if conn.dialect.name == "postgresql":
        pg = postgresql.insert(table).values(**values)
        changed = {k: pg.excluded[k] for k in values if k not in keys}
        return pg.on_conflict_do_update(index_elements=list(keys), set_=changed)
    lite = sqlite.insert(table).values(**values)
    changed = {k: lite.excluded[k] for k in values if k not in keys}
    return lite.on_conflict_do_update(index_elements=list(keys), set_=changed)


# Alembic's own bookkeeping table, as Alembic creates it (its key's name included)
alembic_version = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def _version(conn: Connection) -> str | None:
    return conn.execute(select(alembic_version.c.version_num)).scalar()


def _upgrade(conn: Connection) -> None:
    """Run the migrations from the database's revision to the newest, on ``conn``."""
    from alembic import command  # noqa: PLC0415 - only when there is work to do
    from alembic.config import Config  # noqa: PLC0415

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = conn
    command.upgrade(config, "head")


def _engine(location: Location) -> Engine:
    if location.url == MEMORY_URL:  # one connection, or each would see its own database
        engine = create_engine(
            MEMORY_URL, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    elif location.path is None:
        return create_engine(location.url, pool_pre_ping=True)
    else:
        timeout = {"timeout": BUSY_TIMEOUT_MS / 1000}
        engine = create_engine(location.url, connect_args=timeout)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """Per connection: we issue BEGIN ourselves (pysqlite's own would be DEFERRED)."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        f"busy_timeout={BUSY_TIMEOUT_MS}",
        "synchronous=FULL",
        "foreign_keys=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Writers take the write lock up front, so they queue rather than fail mid-way."""
    mode = "IMMEDIATE" if conn.get_execution_options().get("eln_write") else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")
