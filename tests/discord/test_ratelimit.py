"""Sliding-window limits: allow up to the rate, then say how long to wait; and the one
per-user limit, which every interaction but autocomplete and form submissions counts
against (what a limited user sees is tested end to end, in tests/e2e)."""

from __future__ import annotations

import importlib
import pkgutil

import discord
import pytest

import bot.discord
from bot.config import Rate
from bot.discord.client import QABot
from bot.discord.ratelimit import SlidingWindow, UserLimit
from bot.discord.views import DYNAMIC_ITEMS, Limited, Menu

from .conftest import interaction


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_allows_up_to_the_rate_then_reports_the_wait() -> None:
    clock = Clock()
    window = SlidingWindow(Rate(2, 10.0), clock)
    assert window.hit("u") == 0 and window.hit("u") == 0
    clock.now = 4.0
    assert window.hit("u") == 6.0
    clock.now = 10.0
    assert window.hit("u") == 0


def test_keys_are_independent() -> None:
    window = SlidingWindow(Rate(1, 60.0), Clock())
    assert window.hit("a") == 0
    assert window.hit("b") == 0
    assert window.hit("a") > 0


def test_memory_stays_bounded() -> None:
    clock = Clock()
    window = SlidingWindow(Rate(1, 1.0), clock, max_keys=100)
    for i in range(1_000):
        clock.now = i * 0.01
        window.hit(i)
    assert len(window._hits) <= 100


def test_the_user_limit_counts_each_use_by_one_person() -> None:
    clock = Clock()
    limit = UserLimit(Rate(2, 30.0), clock)
    assert limit.wait(1) == 0 and limit.wait(1) == 0 and limit.wait(2) == 0
    clock.now = 10.0
    assert limit.wait(1) == 20.0
    clock.now = 30.0
    assert limit.wait(1) == 0


@pytest.mark.parametrize(("itype", "name"), [(4, "autocomplete"), (5, "modal submit")])
async def test_typing_suggestions_and_submitting_forms_use_nothing(
    bot: QABot, itype: int, name: str
) -> None:
    limit = UserLimit(Rate(1, 30.0), Clock())
    for _ in range(3):
        assert await limit.admit(interaction(bot, itype=itype)), name
    assert limit.wait(interaction(bot).user.id) == 0  # the one use is still there


def test_the_bot_has_one_user_limit_at_the_configured_rate(bot: QABot) -> None:
    assert bot.limit.window.rate == bot.settings.user_rate


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    return found.union(*(_subclasses(c) for c in found))


def test_every_button_and_menu_of_the_bot_passes_the_user_limit() -> None:
    """A new view or button cannot slip past the limit: the bot's own classes are all
    Limited buttons or Menus (answers' views hold only the buttons, and are never kept)."""
    for module in pkgutil.walk_packages(bot.discord.__path__, "bot.discord."):
        importlib.import_module(module.name)
    assert all(issubclass(item, Limited) for item in DYNAMIC_ITEMS)
    views = {c for c in _subclasses(discord.ui.View) if c.__module__.startswith("bot.")}
    assert views and all(issubclass(v, Menu) for v in views), views
    items = {c for c in _subclasses(discord.ui.DynamicItem) if c.__module__.startswith("bot.")}
    assert items == set(DYNAMIC_ITEMS)
