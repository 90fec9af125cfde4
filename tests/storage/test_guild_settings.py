"""Which settings a server's admins chose, told apart from the operator's defaults."""

from __future__ import annotations

from pathlib import Path

from bot.storage.guild_settings import GuildSettings, GuildSettingsStore
from tests.conftest import open_test_store

GUILD_A, GUILD_B = 2002, 3003


def test_chosen_names_what_the_admins_set_and_survives_a_refresh(tmp_path: Path) -> None:
    database = open_test_store(tmp_path / "faq.yaml", tmp_path / "data").database
    store = GuildSettingsStore(database, GuildSettings(strictness="normal"))
    store.set(GUILD_A, "strictness", "normal")  # the default's value, but chosen
    store.set(GUILD_A, "record_usage", False)
    assert store.chosen(GUILD_A) == {"strictness", "record_usage"}
    assert store.chosen(GUILD_B) == frozenset()
    store.set(GUILD_A, "record_usage", None)  # back to the default
    store.refresh()
    assert store.chosen(GUILD_A) == {"strictness"}
