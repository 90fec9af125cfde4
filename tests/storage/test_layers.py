"""Layers of knowledge: shipped, then global edits, then each server's own, kept apart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.storage.guild_settings import GuildSettings, GuildSettingsStore
from bot.storage.layers import ServedLayers
from bot.storage.store import KnowledgeStore, ServedKnowledge
from tests.conftest import open_test_store

HOME, GUILD_A, GUILD_B = 1001, 2002, 3003
QUESTION = "How many people signed the recommendations?"


@pytest.fixture
def layers(tiny_doc: dict[str, Any], write_knowledge: Any, tmp_path: Path) -> ServedLayers:
    root = open_test_store(write_knowledge(tiny_doc), tmp_path / "data")
    served = ServedLayers(root, ServedKnowledge, home_guild=HOME, capacity=2)
    served.load()
    return served


def answer(layers: ServedLayers, guild: int | None) -> str:
    match = layers.service_for(guild).match(QUESTION)
    assert match.entry is not None
    return match.entry.answer


def edit(layers: ServedLayers, guild: int | None, text: str) -> None:
    def operation(store: KnowledgeStore) -> Any:
        return store.edit("signatories", {"answer": text}, "mod")

    layers.change(guild, operation)


def test_a_servers_edit_reaches_only_that_server(layers: ServedLayers) -> None:
    shipped = answer(layers, None)
    edit(layers, GUILD_A, "Edited in A.")
    assert answer(layers, GUILD_A) == "Edited in A."
    assert answer(layers, GUILD_B) == shipped
    assert answer(layers, None) == shipped  # direct messages see global edits only


def test_the_home_server_edits_globally_and_others_keep_their_own(layers: ServedLayers) -> None:
    edit(layers, GUILD_A, "Edited in A.")
    edit(layers, HOME, "Edited for everyone.")
    assert answer(layers, None) == answer(layers, GUILD_B) == "Edited for everyone."
    assert answer(layers, GUILD_A) == "Edited in A."  # its own edit wins over the global one


def test_history_and_undo_stay_inside_their_server(layers: ServedLayers) -> None:
    edit(layers, GUILD_A, "Edited in A.")
    edit(layers, GUILD_B, "Edited in B.")
    history_a = layers.store_for(GUILD_A).history()
    assert [c.summary for c in history_a] == ["edited 'signatories': answer"]
    layers.change(GUILD_A, lambda store: store.undo("mod"))
    assert answer(layers, GUILD_B) == "Edited in B."
    assert layers.store_for(None).history() == []


def test_a_global_edit_shows_through_where_a_server_did_not_edit(layers: ServedLayers) -> None:
    def alias(store: KnowledgeStore) -> Any:
        return store.alias("new-start", "is the big treaty dead", "mod")

    edit(layers, GUILD_A, "Edited in A.")
    answer(layers, GUILD_A)  # built and cached before the global change
    layers.change(None, alias)
    layers.reload()
    match = layers.service_for(GUILD_A).match("is the big treaty dead")
    assert match.entry is not None and match.entry.id == "new-start"


def test_servers_without_edits_share_one_matcher(layers: ServedLayers) -> None:
    edit(layers, GUILD_A, "Edited in A.")
    assert layers.service_for(GUILD_B) is layers.service_for(None)
    assert layers.service_for(GUILD_A) is not layers.service_for(None)


def test_the_cache_is_bounded_and_rebuilds_what_it_dropped(layers: ServedLayers) -> None:
    guilds = [GUILD_A, GUILD_B, 4004]
    for n, guild in enumerate(guilds):
        edit(layers, guild, f"Edited in {n}.")
    for n, guild in enumerate(guilds):
        assert answer(layers, guild) == f"Edited in {n}."
    assert sum(layers.cached(g) is not None for g in guilds) == 2  # capacity
    assert answer(layers, GUILD_A) == "Edited in 0."  # dropped, then built again


def test_a_second_process_sees_a_servers_setting(tmp_path: Path) -> None:
    defaults = GuildSettings(answer_channels=frozenset({7}))
    first = open_test_store(tmp_path / "faq.yaml", tmp_path / "data").database
    second = open_test_store(tmp_path / "faq.yaml", tmp_path / "data").database
    mine, theirs = GuildSettingsStore(first, defaults), GuildSettingsStore(second, defaults)
    mine.set(GUILD_A, "moderator_role", 555)
    mine.set(GUILD_A, "answer_channels", frozenset({8, 9}))
    assert theirs.get(GUILD_A) == defaults  # not yet refreshed
    theirs.refresh()
    assert theirs.get(GUILD_A).moderator_role == 555
    assert theirs.get(GUILD_A).answer_channels == frozenset({8, 9})
    assert theirs.get(GUILD_B) == defaults
    mine.set(GUILD_A, "moderator_role", None)  # back to the default
    theirs.refresh()
    assert theirs.get(GUILD_A).moderator_role is None
