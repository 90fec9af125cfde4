"""Shared fixtures: a tiny valid knowledge document and paths to the real files."""

from __future__ import annotations

import copy
import functools
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from bot.config import Settings
from bot.storage.database import Database
from bot.storage.loading import open_database, open_insights, open_store
from bot.storage.store import KnowledgeStore
from bot.storage.usage import Insights

# Property tests are bounded by their example counts, never by the clock: a loaded CI
# machine runs the same examples more slowly instead of failing. Speed is measured in
# benchmarks/, not asserted here. Tests that set their own settings start from these.
settings.register_profile("eln-qa-bot", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("eln-qa-bot")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHIPPED_KNOWLEDGE = REPO_ROOT / "knowledge" / "faq.yaml"
# Vendored copies of everything the tests read from outside the code (tests/data/README.md
# says where each came from), so a clone with nothing beside it runs every test.
DATA_DIR = REPO_ROOT / "tests" / "data"
SOURCE_DIR = DATA_DIR / "source"
COVERAGE = DATA_DIR / "knowledge-coverage.yaml"
DISCORD_SPEC = DATA_DIR / "discord-api-spec" / "openapi.json"

TINY_DOC: dict[str, Any] = {
    "version": 1,
    "title": "Tiny test knowledge",
    "synonyms": {"new start": ["newstart", "new-start"], "eln": ["european leadership network"]},
    "entries": [
        {
            "id": "signatories",
            "question": "How many people signed the recommendations?",
            "alternates": [
                "who signed it",
                "number of signatories",
                "how many signatures",
                "signatories",
                "did many sign",
                "how many ppl signed this",
            ],
            "answer": "145 people from 20 countries signed them.",
            "passage": "The recommendations are signed by 145 people from 20 countries",
            "sources": [{"title": "NATO Watch", "url": "https://natowatch.org/"}],
            "tags": ["recommendations"],
            "related": ["new-start"],
        },
        {
            "id": "new-start",
            "question": "What do the recommendations say about New START?",
            "alternates": [
                "new start",
                "extend new start",
                "new start extension",
                "what is new start",
                "strategic arms treaty extension",
                "five year extension",
            ],
            "answer": "They call for extending the New START Treaty for five years.",
            "sources": [{"title": "NATO Watch", "url": "https://natowatch.org/"}],
            "tags": ["treaties"],
        },
        {
            "id": "action-open-skies",
            "question": "What is the seventh urgent action?",
            "alternates": [
                "preserve open skies",
                "open skies treaty recommendation",
                "keep open skies",
                "surveillance flights treaty",
                "aerial observation flights",
                "open skies",
            ],
            "answer": "Preserving the Open Skies Treaty.",
            "sources": [{"title": "NATO Watch", "url": "https://natowatch.org/"}],
            "tags": ["urgent-actions"],
            "action": 7,
        },
    ],
}


@pytest.fixture
def tiny_doc() -> dict[str, Any]:
    """A fresh, valid knowledge document each test may mutate."""
    return copy.deepcopy(TINY_DOC)


@pytest.fixture
def write_knowledge(tmp_path: Path) -> Callable[[Any], Path]:
    """Write a document (or raw YAML text) to a file and return its path."""

    def write(doc: Any, name: str = "faq.yaml") -> Path:
        path = tmp_path / name
        text = (
            doc
            if isinstance(doc, str)
            else yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
        )
        path.write_text(text, encoding="utf-8")
        return path

    return write


def open_test_store(shipped: Path, data_dir: Path) -> KnowledgeStore:
    """The store the bot and the CLI would open for this shipped file and data directory."""
    chosen = Settings(knowledge_path=shipped, data_dir=data_dir)
    return open_store(chosen, open_database(chosen))


def open_test_insights(data_dir: Path) -> Insights:
    """The usage records the bot would open in this data directory."""
    chosen = Settings(data_dir=data_dir)
    return open_insights(chosen, open_database(chosen))


# --- databases: the SQLite file and a real PostgreSQL ----------------------------------
#
# Every storage guarantee is tested on both engines the bot supports. PostgreSQL is a real
# server (pgserver's bundled PostgreSQL 16 binaries), one per xdist worker, with a fresh
# database for each test; when it cannot be started the tests that need it fail with the
# reason, never skip, so a green run always means both engines were tested.

ENGINES = ("sqlite", "postgresql")


class PostgresCluster:
    """A PostgreSQL server for the tests, and the admin connection that makes databases."""

    def __init__(self, server: Any, base: Path) -> None:
        self.server = server
        self.base = base  # a folder the server's own user may enter (it holds its data)
        self.system_user: str | None = server.system_user  # who the server runs as, as root
        admin = server.get_uri().replace("postgresql://", "postgresql+psycopg://", 1)
        self._admin = create_engine(admin, isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def url(self, database: str) -> str:
        """``postgresql://`` as a user would set ELN_DATABASE_URL (over a Unix socket)."""
        return str(self.server.get_uri(database))

    def execute(self, *statements: str) -> None:
        """Run statements outside a transaction (CREATE DATABASE, TABLESPACE, ALTER ...)."""
        with self._admin.connect() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)

    def create_database(self, *settings: str) -> str:
        """A new, empty database with a unique name; ``settings`` are ALTER DATABASE SETs."""
        name = f"eln_test_{uuid.uuid4().hex[:12]}"
        self.execute(
            f"CREATE DATABASE {name}", *(f"ALTER DATABASE {name} SET {s}" for s in settings)
        )
        return name

    def drop_database(self, name: str) -> None:
        """Drop it, ending any connection still open (a killed writer's, a leaked pool's)."""
        self.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def close(self) -> None:
        self._admin.dispose()
        self.server.cleanup()


@pytest.fixture(scope="session")
def postgresql_server() -> Iterator[PostgresCluster]:
    """One PostgreSQL server for this xdist worker, deleted at the end of the session."""
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import pgserver  # noqa: PLC0415 - only tests with a database start a server

    # a short path of its own: the server's Unix socket lives in it (108-byte limit)
    base = Path(tempfile.mkdtemp(prefix="eln-pg-"))
    try:
        server = pgserver.get_server(base / "data", cleanup_mode="delete")
        cluster = PostgresCluster(server, base)
        # The tests kill clients, never the server: its own durability against a power cut
        # is PostgreSQL's business, and flushing every test database's pages costs seconds.
        cluster.execute("ALTER SYSTEM SET fsync = off", "SELECT pg_reload_conf()")
    except Exception as exc:
        log_file = base / "data" / "log"
        server_log = log_file.read_text(errors="replace")[-2000:] if log_file.is_file() else ""
        pytest.fail(
            f"PostgreSQL could not be started for the storage tests: {type(exc).__name__}: "
            f"{exc}\n{server_log}",
            pytrace=False,
        )
    yield cluster
    cluster.close()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgresql_url(postgresql_server: PostgresCluster) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, as a ``postgresql://`` URL."""
    name = postgresql_server.create_database()
    yield postgresql_server.url(name)
    postgresql_server.drop_database(name)


class Backend:
    """One engine the storage runs on: the settings that select it and its open databases.

    ``url`` names the same database for another process (``tests/storage/store_worker.py``).
    Nothing is created until ``database`` (or ``open``) is first used, so a test can also
    start on a database that has no schema yet.
    """

    def __init__(self, name: str, settings: Settings, url: str) -> None:
        self.name = name
        self.settings = settings
        self.url = url
        self._opened: list[Database] = []

    @functools.cached_property
    def database(self) -> Database:
        return self.open()

    def open(self) -> Database:
        """The database opened again, with its own connections, as another process would."""
        database = open_database(self.settings)
        self._opened.append(database)
        return database

    def store(self, shipped: Path, database: Database | None = None) -> KnowledgeStore:
        return KnowledgeStore(shipped, database or self.database)

    def insights(self, database: Database | None = None, **options: Any) -> Insights:
        return Insights(database or self.database, **options)

    def close(self) -> None:
        for database in self._opened:
            database.close()


def sqlite_backend(data_dir: Path) -> Backend:
    """The default: the SQLite file in the data directory."""
    chosen = Settings(data_dir=data_dir)
    return Backend("sqlite", chosen, f"sqlite:///{chosen.database_file}")


def postgresql_backend(url: str, data_dir: Path) -> Backend:
    return Backend("postgresql", Settings(data_dir=data_dir, database_url=url), url)


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each storage test once on SQLite and once on PostgreSQL, on a new database."""
    if request.param == "sqlite":
        backend = sqlite_backend(tmp_path / "data")
    else:
        backend = postgresql_backend(request.getfixturevalue("postgresql_url"), tmp_path / "data")
    yield backend
    backend.close()
