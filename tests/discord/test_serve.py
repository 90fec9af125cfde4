"""``eln-bot run`` against a Discord that never answers, refuses connections or rejects the
token: one log line naming the host, the documented exit code, and a heartbeat that says
the start failed (not "stopping", which means a requested stop)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.config import Settings
from bot.discord.bot import build_services, create_bot, serve
from bot.discord.client import QABot
from bot.discord.endpoints import DEFAULT_API_BASE, use_api_base
from bot.errors import ExitCode
from bot.health import check_heartbeat

pytestmark = pytest.mark.timeout(30)
QUICK = 0.3  # the start-up deadline in these tests; production waits 25 s


@contextlib.asynccontextmanager
async def black_hole() -> AsyncIterator[str]:
    """A host that accepts connections and never says a word: a stuck proxy, a dead peer."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read()  # until the client gives up and closes

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def rejecting_discord() -> AsyncIterator[str]:
    """An API that answers every login with 401, as Discord does for a bad token."""

    async def unauthorized(request: web.Request) -> web.Response:
        return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)

    app = web.Application()
    app.router.add_get("/api/v10/users/@me", unauthorized)
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    await web.SockSite(runner, sock).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def closed_port() -> str:
    """An address where nothing listens: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def make_bot(
    tmp_path: Path,
    write_knowledge: Callable[[Any], Path],
    tiny_doc: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> Callable[[str], QABot]:
    def make(api_base: str) -> QABot:
        settings = Settings(
            token="not-a-real-token",
            api_base=api_base,
            knowledge_path=write_knowledge(tiny_doc),
            data_dir=tmp_path / "data",
        )
        use_api_base(api_base)
        bot = create_bot(settings, build_services(settings))
        caplog.clear()  # what discord.py says about voice support; run_bot silences it
        return bot

    return make


@pytest.fixture(autouse=True)
async def restore_process_state() -> AsyncIterator[None]:
    """``serve`` points discord.py at a host and installs signal handlers: undo both."""
    yield
    use_api_base(DEFAULT_API_BASE)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.remove_signal_handler(sig)


def heartbeat_state(bot: QABot) -> str:
    state = json.loads(bot.settings.heartbeat_path.read_text(encoding="utf-8"))["state"]
    assert isinstance(state, str)
    return state


def problems(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_silent_discord_is_given_up_with_one_line_naming_the_host(
    make_bot: Callable[[str], QABot], caplog: pytest.LogCaptureFixture
) -> None:
    async with black_hole() as base:
        bot = make_bot(base)
        with caplog.at_level(logging.INFO):
            code = await serve(bot, "not-a-real-token", connect_within=QUICK)
    assert code == ExitCode.UNREACHABLE
    (line,) = problems(caplog)
    assert line.name == "bot.discord.bot" and line.levelno == logging.ERROR
    assert "127.0.0.1" in line.getMessage() and "giving up" in line.getMessage()
    assert "\n" not in line.getMessage() and line.exc_info is None
    assert bot.is_closed() and heartbeat_state(bot) == "failed"


async def test_a_refused_connection_is_unreachable_too(
    make_bot: Callable[[str], QABot], caplog: pytest.LogCaptureFixture
) -> None:
    bot = make_bot(closed_port())
    code = await serve(bot, "not-a-real-token", connect_within=10)
    assert code == ExitCode.UNREACHABLE
    (line,) = problems(caplog)
    assert "cannot reach Discord at 127.0.0.1" in line.getMessage()
    assert heartbeat_state(bot) == "failed"


async def test_a_rejected_token_has_its_own_exit_code(
    make_bot: Callable[[str], QABot], caplog: pytest.LogCaptureFixture
) -> None:
    async with rejecting_discord() as base:
        bot = make_bot(base)
        code = await serve(bot, "not-a-real-token", connect_within=10)
    assert code == ExitCode.TOKEN_REJECTED
    (line,) = problems(caplog)
    assert "rejected the token" in line.getMessage()
    assert heartbeat_state(bot) == "failed"


async def test_health_says_starting_while_starting_and_stopping_after_sigterm(
    make_bot: Callable[[str], QABot],
) -> None:
    async with black_hole() as base:
        bot = make_bot(base)
        path = bot.settings.heartbeat_path
        running = asyncio.create_task(serve(bot, "not-a-real-token", connect_within=25))
        async with asyncio.timeout(10):
            while not path.exists():  # noqa: ASYNC110 - polls as a health check would
                await asyncio.sleep(0.01)
        healthy, reason = check_heartbeat(path, max_age=60)
        assert not healthy and reason.startswith("unhealthy: gateway starting"), reason
        os.kill(os.getpid(), signal.SIGTERM)  # as `docker stop` sends; serve handles it
        code = await running
    assert code == ExitCode.OK
    assert heartbeat_state(bot) == "stopping"
