"""Menus with a timeout (topic browser, confirmations, the unanswered list) that are open now.

discord.py runs a timer task per such view; ``close_all`` stops them at shutdown so no
timer outlives the bot.
"""

from __future__ import annotations

import weakref
from typing import TypeVar

import discord

ViewT = TypeVar("ViewT", bound=discord.ui.View)


class OpenMenus:
    def __init__(self) -> None:
        self._views: weakref.WeakSet[discord.ui.View] = weakref.WeakSet()

    def track(self, view: ViewT) -> ViewT:
        """Remember ``view`` until it is collected; returns it for use inline."""
        self._views.add(view)
        return view

    def close_all(self) -> None:
        for view in list(self._views):
            view.stop()
