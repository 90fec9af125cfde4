"""Opening the data: which database, which store, which knowledge to serve.

Commands that only read never create anything: with no database yet they read an empty
one in memory, so they show the shipped knowledge and no history, exactly as a new
database would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.core.decision import DecisionModel
from bot.core.knowledge import Knowledge, KnowledgeError, Problem, load, parse_document
from bot.core.matching import DEFAULT_THRESHOLDS, Thresholds

if TYPE_CHECKING:
    from bot.storage.database import Database, Location
    from bot.storage.guild_settings import GuildSettingsStore
    from bot.storage.layers import ServedLayers
    from bot.storage.store import KnowledgeStore, ServedKnowledge
    from bot.storage.usage import Insights


def has_database(settings: Settings) -> bool:
    """Whether there is a database to read (checked without loading SQLAlchemy)."""
    path = settings.database_file
    return path is None or path.is_file()


def location(settings: Settings) -> Location:
    """``ELN_DATABASE_URL``, else the SQLite file in the data directory."""
    from bot.storage.database import Location  # noqa: PLC0415 - SQLAlchemy loads here

    path = settings.database_file
    if path is None:
        return Location.from_url(settings.database_url or "")
    return Location.sqlite(path)


def open_database(settings: Settings, *, create: bool = True) -> Database:
    """The database, migrated to the newest schema; in memory if absent and not ``create``."""
    from bot.storage.database import Database, Location  # noqa: PLC0415 - SQLAlchemy

    where = location(settings)
    if not where.exists() and not create:
        return Database(Location.memory())
    if where.path is not None:
        where.path.parent.mkdir(parents=True, exist_ok=True)
    return Database(where)


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
    label = f"{settings.knowledge_path} + edits in {database.location.label}"
    knowledge, problems = parse_document(store.merged_document(), label)
    return knowledge, problems, label


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
