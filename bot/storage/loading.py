"""Which knowledge to serve: a given file, or the shipped file with moderators' edits applied."""

from __future__ import annotations

from pathlib import Path

from bot.config import Settings
from bot.core.knowledge import Knowledge, Problem, load, parse_document


def has_overlay(settings: Settings) -> bool:
    """Whether moderators have edited anything (the log alone is enough: it rebuilds the rest)."""
    from bot.storage import LOG_NAME, OVERLAY_NAME  # noqa: PLC0415 - only on this path

    return any((settings.data_dir / name).exists() for name in (OVERLAY_NAME, LOG_NAME))


def load_effective(settings: Settings, path: Path | None = None) -> tuple[Knowledge, list[Problem]]:
    """The knowledge to answer from: ``path`` if given, else the merged view."""
    knowledge, problems, _ = load_for_check(settings, path)
    return knowledge, problems


def load_for_check(
    settings: Settings, path: Path | None = None
) -> tuple[Knowledge, list[Problem], str]:
    """Load (raising KnowledgeError) and say what was loaded, for messages."""
    if path is not None:
        knowledge, problems = load(path)
        return knowledge, problems, str(path)
    if not has_overlay(settings):
        knowledge, problems = load(settings.knowledge_path)
        return knowledge, problems, str(settings.knowledge_path)
    from bot.storage import KnowledgeStore  # noqa: PLC0415 - only when edits exist

    store = KnowledgeStore(settings.knowledge_path, settings.data_dir)
    label = f"{settings.knowledge_path} + edits in {settings.data_dir}"
    knowledge, problems = parse_document(store.merged_document(), label)
    return knowledge, problems, label
