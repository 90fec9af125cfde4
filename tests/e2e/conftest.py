"""Fixtures for end-to-end tests: the Discord stand-in and a running bot.

    async def test_x(standin):
        bot = MyBot(intents=..., guild_ready_timeout=0.05)
        async with running_bot(bot, standin):
            await standin.dispatch_message(content="hi")
            req = await standin.wait_for_request("POST /channels/{channel_id}/messages")

At teardown ``standin`` fails the test if any request broke Discord's OpenAPI schema, a
documented limit, or the interaction protocol, unless the test is marked
``@pytest.mark.spec_violations_expected`` (or calls ``standin.expect_violations()``).
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import AsyncIterator

import discord
import pytest

from bot.endpoints import DEFAULT_API_BASE, use_api_base

from .standin import StandIn

# Short enough that heartbeats and ACKs happen inside a test, long enough not to spam.
TEST_HEARTBEAT_MS = 500


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "spec_violations_expected: the test provokes requests Discord would reject",
    )


@pytest.fixture
async def standin(request: pytest.FixtureRequest) -> AsyncIterator[StandIn]:
    server = StandIn(heartbeat_interval=TEST_HEARTBEAT_MS)
    await server.start()
    use_api_base(server.base_url)
    try:
        yield server
    finally:
        use_api_base(DEFAULT_API_BASE)
        await server.stop()
    leaked = await _leaked_tasks()
    expected = server.violations_expected or request.node.get_closest_marker(
        "spec_violations_expected"
    )
    problems = [] if expected else [f"{rec}: {v}" for rec, v in server.violations]
    problems += [f"stand-in answered off-spec: {rec}: {v}" for rec, v in server.response_violations]
    problems += [f"task still running after the test: {t!r}" for t in leaked]
    for rec in server.unknown_routes:
        warnings.warn(f"stand-in has no handler for {rec.method} {rec.path}", stacklevel=1)
    if problems:
        pytest.fail("e2e problems:\n  " + "\n  ".join(problems), pytrace=False)


async def _leaked_tasks(grace: float = 1.0) -> list[asyncio.Task[object]]:
    """Tasks the test left behind; they get ``grace`` seconds to end, then are cancelled."""
    current = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    if not pending:
        return []
    await asyncio.wait(pending, timeout=grace)
    leaked = [t for t in pending if not t.done()]
    for task in leaked:
        task.cancel()
    await asyncio.gather(*leaked, return_exceptions=True)
    return leaked


async def _no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
    """discord.py sleeps 5 s before every non-initial IDENTIFY; the stand-in has no limit."""


@contextlib.asynccontextmanager
async def running_bot(
    bot: discord.Client,
    standin: StandIn,
    token: str = "test-token",
    *,
    ready_timeout: float = 10.0,
    fast_identify: bool = True,
) -> AsyncIterator[discord.Client]:
    """Run ``bot.start(token)`` against the stand-in until the block ends, then close it.

    ``fast_identify`` replaces ``before_identify_hook`` (its documented extension point)
    so re-IDENTIFY and extra shards don't wait 5 s each.
    """
    assert discord.http.Route.BASE.startswith(standin.base_url), "use the standin fixture"
    if fast_identify:
        bot.before_identify_hook = _no_identify_delay  # type: ignore[method-assign]
    task = asyncio.create_task(bot.start(token), name="running_bot:start")
    try:
        try:
            async with asyncio.timeout(ready_timeout):
                await _wait_ready(bot, task)
        except TimeoutError:
            raise TimeoutError(f"bot not ready after {ready_timeout}s") from None
        yield bot
    finally:
        await bot.close()
        done, _ = await asyncio.wait({task}, timeout=5.0)
        if not done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        elif not task.cancelled():
            task.exception()  # retrieved here so a failing test is not masked
    if not done or task.cancelled():
        raise TimeoutError("bot.start() did not return within 5 s of bot.close()")
    if task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


async def _wait_ready(bot: discord.Client, task: asyncio.Task[None]) -> None:
    while not bot.is_ready():
        if task.done():
            task.result()  # re-raise why the bot stopped
            raise RuntimeError("bot.start() returned before the bot was ready")
        await asyncio.sleep(0.01)
    await bot.wait_until_ready()
