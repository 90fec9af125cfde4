"""The texts /settings and /privacy show, and the help card's word on stored data."""

from __future__ import annotations

from unittest.mock import create_autospec

import discord
import pytest

from bot.discord import render
from bot.discord.cogs.privacy import info_text
from bot.discord.cogs.settings import answer_channels_here, moderators_text, show_text
from bot.storage.guild_settings import GuildSettings

from .test_render import assert_within_limits

ROLE, HERE, ELSEWHERE = 11, 21, 22


def guild() -> discord.Guild:
    """A server that has role ROLE and channel HERE (a spec'd stand-in for the cache)."""
    fake = create_autospec(discord.Guild, instance=True)
    fake.get_role.side_effect = lambda rid: object() if rid == ROLE else None
    fake.get_channel_or_thread.side_effect = lambda cid: object() if cid == HERE else None
    return fake


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (None, "members with Manage Server"),
        (ROLE, f"members with <@&{ROLE}>"),
        (99, "nobody yet: that role is not in this server; choose one with `moderator-role set`"),
    ],
)
def test_moderators_are_named_as_an_admin_reads_them(role: int | None, expected: str) -> None:
    assert moderators_text(guild(), role) == expected


def test_an_admin_sees_only_this_servers_answer_channels() -> None:
    chosen = GuildSettings(answer_channels=frozenset({HERE, ELSEWHERE}))
    assert answer_channels_here(guild(), chosen) == {HERE}
    assert answer_channels_here(None, chosen) == {HERE, ELSEWHERE}  # no cache: all of them


def test_show_marks_the_operators_defaults() -> None:
    chosen = GuildSettings(answer_channels=frozenset({HERE}), strictness="strict")
    text = show_text(guild(), chosen, frozenset({"strictness"}), content=True)
    assert f"• Answer channels: <#{HERE}> *(default)*" in text
    assert "• Unprompted answers: strict, only when I'm very sure\n" in text
    assert "• Usage records: on *(default)*" in text
    assert "Message Content" not in text
    without = show_text(guild(), chosen, frozenset(), content=False)
    assert "operator must enable the Message Content intent" in without


@pytest.mark.parametrize("recording", [True, False])
def test_privacy_info_says_what_is_kept_how_long_and_how_to_delete(recording: bool) -> None:
    text = info_text(30, recording)
    told = ("couldn't answer", "votes", "user id", "30 days", "DMs", "/privacy forget", "author")
    for words in told:
        assert words in text
    assert ("turned recording off" in text) is not recording
    assert len(text) <= render.CONTENT_MAX


def test_help_says_what_is_stored_for_how_long_and_points_to_privacy() -> None:
    data = assert_within_limits(render.help_embed(False, retention_days=90))
    (field,) = [f for f in data["fields"] if f["name"] == "Your data"]
    assert "90 days" in field["value"] and "`/privacy`" in field["value"]
