"""Point discord.py at a Discord API base other than discord.com (tests, proxies)."""

from __future__ import annotations

import discord.http
import yarl
from discord.gateway import DiscordWebSocket

from bot.config import DEFAULT_API_BASE

__all__ = ["DEFAULT_API_BASE", "use_api_base"]


def use_api_base(base: str) -> None:
    """Send REST and gateway traffic to ``base`` (e.g. ``http://127.0.0.1:8080``).

    discord.py keeps both endpoints as class attributes, so this is process-wide;
    it is called once at start-up, before the client connects.
    """
    base = base.rstrip("/")
    discord.http.Route.BASE = f"{base}/api/v10"
    url = yarl.URL(base)
    if url.scheme in ("http", "https"):
        ws_scheme = "wss" if url.scheme == "https" else "ws"
        gateway = url.with_scheme(ws_scheme).with_path("/gateway/")
    else:
        gateway = url
    if base == DEFAULT_API_BASE:
        gateway = yarl.URL("wss://gateway.discord.gg/")
    DiscordWebSocket.DEFAULT_GATEWAY = gateway
