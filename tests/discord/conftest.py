"""Real discord.py objects for unit tests of the Discord layer: knowledge, a bot that is
built as production builds it but never connects, and interactions from raw payloads."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.config import Settings
from bot.core.knowledge import Entry, Knowledge, Source, parse_document
from bot.core.matching import Candidate, Match, Status
from bot.discord.bot import build_services, create_bot
from bot.discord.client import QABot

USER_ID = 111_111_111_111_111_111
BOT_ID = 555_555_555_555_555_555
GUILD_ID = 222_222_222_222_222_222
CHANNEL_ID = 333_333_333_333_333_333


@pytest.fixture
def knowledge(tiny_doc: dict[str, Any]) -> Knowledge:
    return parse_document(tiny_doc)[0]


def make_entry(**fields: Any) -> Entry:
    """An entry with the given fields; the rest are short and valid."""
    values: dict[str, Any] = {
        "id": "an-entry",
        "question": "What is it?",
        "alternates": (),
        "answer": "It is this.",
        "sources": (Source("NATO Watch", "https://natowatch.org/"),),
    }
    values.update(fields)
    return Entry(**values)


def make_match(status: Status, *entries: Entry, score: float = 90.0) -> Match:
    """What the matcher returns: ``entries`` as candidates, best first; unsure offers them."""
    candidates = tuple(Candidate(e, score - i, e.question) for i, e in enumerate(entries))
    return Match(
        question="what about it?",
        status=status,
        candidates=candidates,
        normalised="what about it",
        suggestions=entries if status is Status.UNSURE else (),
        confidence=score / 100,
    )


@pytest.fixture
def settings(
    write_knowledge: Callable[[Any], Path], tiny_doc: dict[str, Any], tmp_path: Path
) -> Settings:
    return Settings(knowledge_path=write_knowledge(tiny_doc), data_dir=tmp_path / "data")


@pytest.fixture
def bot(settings: Settings) -> QABot:
    """The production bot for ``settings``, not started (no network), but knowing who it is
    as it would after logging in."""
    bot = create_bot(settings, build_services(settings))
    me: Any = {"id": str(BOT_ID), "username": "eln-bot", "discriminator": "0", "avatar": None}
    bot._connection.user = discord.ClientUser(state=bot._connection, data=me)
    return bot


_ids = itertools.count(1)


def interaction(
    bot: QABot,
    *,
    custom_id: str = "eln:v:an-entry:1",
    user_id: int = USER_ID,
    guild: bool = True,
    message: dict[str, Any] | None = None,
    itype: int = 3,
) -> discord.Interaction[discord.Client]:
    """A button click (or, with ``itype``, another interaction) as Discord sends it, parsed
    by discord.py into a real Interaction."""
    user = {"id": str(user_id), "username": "alice", "discriminator": "0", "avatar": None}
    payload: Any = {  # a TypedDict in discord.py; built here as Discord sends it
        "id": str(next(_ids)),
        "type": itype,
        "token": "interaction-token",
        "version": 1,
        "application_id": "444444444444444444",
        "attachment_size_limit": 8_388_608,
        "channel_id": str(CHANNEL_ID),
        "channel": {"id": str(CHANNEL_ID), "type": 0, "name": "general", "position": 0},
        "data": {"custom_id": custom_id, "component_type": 2},
    }
    if guild:
        payload["guild_id"] = str(GUILD_ID)
        payload["member"] = {
            "user": user,
            "roles": [],
            "joined_at": None,
            "permissions": "0",
            "flags": 0,
        }
    else:
        payload["user"] = user
    if message is not None:
        payload["message"] = message
    return discord.Interaction(data=payload, state=bot._connection)
