"""The bot's two background jobs, each a ``discord.ext.tasks`` loop the bot starts once it
has logged in and stops before it disconnects.

``HeartbeatJob``      writes the heartbeat file Docker's HEALTHCHECK reads (``eln-bot health``)
``KnowledgeWatcher``  swaps in a changed knowledge file that validates, and reports it
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import discord
from discord.ext import tasks

from bot.core.service import ReloadOutcome
from bot.discord.gateway import GatewayState
from bot.health import Heartbeat, write_heartbeat
from bot.storage.guild_settings import GuildSettingsStore
from bot.storage.layers import ServedLayers

log = logging.getLogger(__name__)
HEARTBEAT_EVERY = 10.0
Tick = Callable[[], Coroutine[Any, Any, None]]


class HeartbeatJob:
    """Every ``every`` seconds, and on demand, record the gateway state for health checks.

    Writes run in a thread. A write cancelled at shutdown may still land after the final
    one, so each beat is numbered when taken and an older beat never replaces a newer one.
    """

    def __init__(
        self,
        path: Path,
        client: discord.Client,
        gateway: GatewayState,
        every: float = HEARTBEAT_EVERY,
    ) -> None:
        self.path = path
        self._client = client
        self._gateway = gateway
        self._numbers = itertools.count(1)
        self._written = 0
        self._lock = threading.Lock()
        self._loop = tasks.loop(seconds=every)(self.beat)

    def start(self) -> None:
        if not self._loop.is_running():
            self._loop.start()

    async def stop(self) -> None:
        """Stop the loop and write one last beat with the state as it is now."""
        await _cancel(self._loop)
        await self.beat()

    async def beat(self) -> None:
        number, beat = self._take()
        await asyncio.to_thread(self._write, number, beat)

    def write(self) -> None:
        """Write a beat now, on the calling thread."""
        self._write(*self._take())

    def _take(self) -> tuple[int, Heartbeat]:
        latency = self._client.latency
        beat = Heartbeat(
            at=time.time(),
            state=self._gateway.state,
            latency_ms=latency * 1e3 if math.isfinite(latency) else None,
            guilds=len(self._client.guilds),
        )
        return next(self._numbers), beat

    def _write(self, number: int, beat: Heartbeat) -> None:
        with self._lock:
            if number < self._written:
                return
            try:
                write_heartbeat(self.path, beat)
            except OSError as exc:
                log.warning("cannot write heartbeat %s: %s", self.path, exc)
                return
            self._written = number


class KnowledgeWatcher:
    """Every ``every`` seconds, look for changed knowledge (the shipped file, or edits and
    settings another process saved in the database); report each swap or rejection."""

    def __init__(
        self,
        layers: ServedLayers,
        settings: GuildSettingsStore,
        every: float,
        report: Callable[[ReloadOutcome], Awaitable[None]],
    ) -> None:
        self._layers = layers
        self._settings = settings
        self._report = report
        self._loop = tasks.loop(seconds=every)(self.check)

    def start(self) -> None:
        if not self._loop.is_running():
            self._loop.start()

    async def stop(self) -> None:
        await _cancel(self._loop)

    async def check(self) -> None:
        """One poll. Never raises: the watcher must outlive any surprise."""
        try:
            outcome = await asyncio.to_thread(self._poll)
        except Exception:
            log.exception("knowledge watcher failed; will retry")
            return
        if outcome.swapped or outcome.rejected:
            await self._report(outcome)

    def _poll(self) -> ReloadOutcome:
        self._settings.refresh()
        return self._layers.reload()


async def _cancel(loop: tasks.Loop[Tick]) -> None:
    """Cancel a loop and wait until its task has ended, so none outlives ``close()``."""
    task = loop.get_task()
    loop.cancel()
    if task is not None and not task.done():
        await asyncio.wait({task})
