"""Opening the data: which database, which store, which knowledge to serve.

Commands that only read never create anything: with no database yet they read an empty
one in memory, so they show the shipped knowledge and no history, exactly as a new
database would. A data directory still in the file format of an earlier release is
imported into the database when it is opened to write (``bot.storage.legacy``); until then
commands that only read see its files imported into that database in memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.core.decision import DecisionModel
from bot.core.knowledge import Knowledge, KnowledgeError, Problem, load, parse_document
from bot.core.matching import DEFAULT_THRESHOLDS, Thresholds
from bot.errors import StoreError
from bot.storage.datadir import has_files

if TYPE_CHECKING:
    from bot.storage.database import Database, Location
    from bot.storage.guild_settings import GuildSettingsStore
    from bot.storage.layers import ServedLayers
    from bot.storage.store import KnowledgeStore, ServedKnowledge
    from bot.storage.usage import Insights

log = logging.getLogger(__name__)


def has_database(settings: Settings) -> bool:
    """Whether there are edits to read: a database, or files of an earlier release.

    Checked without loading SQLAlchemy.
    """
    path = settings.database_file
    return path is None or path.is_file() or has_files(settings.data_dir)


def location(settings: Settings) -> Location:
    """``ELN_DATABASE_URL``, else the SQLite file in the data directory."""
    from bot.storage.database import Location  # noqa: PLC0415 - SQLAlchemy loads here

    path = settings.database_file
    if path is None:
        return Location.from_url(settings.database_url or "")
    return Location.sqlite(path)


def open_database(settings: Settings, *, create: bool = True) -> Database:
    """The database, migrated to the newest schema; in memory if absent and not ``create``.

    Files of an earlier release in the data directory are imported first (once, and only
    when ``create``: a command that only reads imports them into the database in memory).
    """
    from bot.storage import legacy  # noqa: PLC0415 - SQLAlchemy loads here
    from bot.storage.database import Database, Location  # noqa: PLC0415

    where = location(settings)
    old_files = has_files(settings.data_dir)
    if not where.exists() and not create:
        database = Database(Location.memory())
        if old_files:
            legacy.read_into(database, settings.data_dir)
        return database
    created = not where.exists()
    if where.path is not None:
        where.path.parent.mkdir(parents=True, exist_ok=True)
    database = Database(where)
    if old_files and create:
        _import(database, settings.data_dir, created=created)
    elif old_files and legacy.imported(database) is None:
        log.warning(
            "%s holds files of an earlier release, not imported yet: the next start of the "
            "bot, or the next change, imports them",
            settings.data_dir,
        )
    return database


def _import(database: Database, data_dir: Path, *, created: bool) -> None:
    """Import the files; when that fails, a database file made just now goes again."""
    from bot.storage import legacy  # noqa: PLC0415 - SQLAlchemy loads here

    try:
        legacy.migrate(database, data_dir)
    except StoreError:
        database.close()
        path = database.location.path
        if created and path is not None:
            for leftover in (
                path,
                path.with_name(path.name + "-wal"),
                path.with_name(path.name + "-shm"),
            ):
                leftover.unlink(missing_ok=True)
        raise


def open_store(
    settings: Settings, database: Database, *, knowledge: Path | None = None
) -> KnowledgeStore:
    """The moderators' store over ``database`` and the shipped file."""
    from bot.storage.store import KnowledgeStore  # noqa: PLC0415 - SQLAlchemy loads here

    return KnowledgeStore(knowledge or settings.knowledge_path, database)


def open_insights(settings: Settings, database: Database) -> Insights:
    """The usage records in ``database``, kept for ``ELN_RETENTION_DAYS``."""
    from bot.storage.usage import Insights  # noqa: PLC0415 - SQLAlchemy loads here

    return Insights(database, retention=timedelta(days=settings.retention_days))


def load_effective(settings: Settings, path: Path | None = None) -> tuple[Knowledge, list[Problem]]:
    """The knowledge to answer from: ``path`` if given, else the merged view."""
    knowledge, problems, _ = load_for_check(settings, path)
    return knowledge, problems


def load_for_check(
    settings: Settings, path: Path | None = None
) -> tuple[Knowledge, list[Problem], str]:
    """Load (raising KnowledgeError) and say what was loaded, for messages.

    With no database the shipped file is read directly, so ``ask`` and ``check`` never
    import the database layer.
    """
    if path is not None:
        knowledge, problems = load(path)
        return knowledge, problems, str(path)
    if not has_database(settings):
        knowledge, problems = load(settings.knowledge_path)
        return knowledge, problems, str(settings.knowledge_path)
    database = open_database(settings, create=False)
    store = open_store(settings, database)
    label = f"{settings.knowledge_path} + edits in {_edits_label(settings, database)}"
    knowledge, problems = parse_document(store.merged_document(), label)
    return knowledge, problems, label


def _edits_label(settings: Settings, database: Database) -> str:
    """Where the edits come from: the database, or files not imported yet."""
    from bot.storage.database import MEMORY_URL  # noqa: PLC0415 - loaded with the database

    if database.location.url == MEMORY_URL and has_files(settings.data_dir):
        return f"{settings.data_dir} (files of an earlier release, imported at the next start)"
    return database.location.label


@dataclass(frozen=True)
class Services:
    """Everything the bot serves from, opened once: knowledge per place, usage, settings."""

    layers: ServedLayers
    insights: Insights
    guild_settings: GuildSettingsStore

    @property
    def service(self) -> ServedKnowledge:
        """The global knowledge: direct messages, and every server without edits."""
        return self.layers.global_service


def open_services(
    settings: Settings, *, model: DecisionModel | None, thresholds: Thresholds | None = None
) -> Services:
    """Open the database and load the knowledge (raising KnowledgeError/StoreError).

    A broken shipped file at start is replaced by the last one that validated, kept in the
    database, so the bot still answers (and says why in its log).
    """
    from bot.storage.guild_settings import GuildSettings, GuildSettingsStore  # noqa: PLC0415
    from bot.storage.layers import ServedLayers  # noqa: PLC0415
    from bot.storage.store import ServedKnowledge  # noqa: PLC0415

    database = open_database(settings)
    store = open_store(settings, database)

    def serve(layer: KnowledgeStore) -> ServedKnowledge:
        return ServedKnowledge(layer, thresholds or DEFAULT_THRESHOLDS, model)

    layers = ServedLayers(store, serve, home_guild=settings.home_guild)
    try:
        layers.load()
    except KnowledgeError as exc:
        store.serve_last_good(exc)
        layers.load()
    defaults = GuildSettings(
        answer_channels=settings.answer_channels,
        moderator_role=settings.moderator_role,
        audit_channel=settings.audit_channel,
    )
    guild_settings = GuildSettingsStore(database, defaults, home_guild=settings.home_guild)
    guild_settings.refresh()
    return Services(layers, open_insights(settings, database), guild_settings)
