"""Two bot processes, one PostgreSQL: an edit made anywhere is served by both.

As production runs shards on several hosts: each process is ``python -m bot run`` with its
own shard and its own data directory, configured only through the environment, and the
only thing they share is the database. The edit comes from a third process, the
moderators' command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import SHIPPED_KNOWLEDGE
from .standin import StandIn
from .standin.world import FakeGuild

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

REPO = Path(__file__).resolve().parents[2]
TOKEN = "two-process-token"
NEW_PHRASING = "is the big strategic arms deal finished for good"


def bot_environment(standin: StandIn, database_url: str, data_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_BASE": standin.base_url,
        "ELN_KNOWLEDGE": str(SHIPPED_KNOWLEDGE),
        "ELN_DATA_DIR": str(data_dir),
        "ELN_DATABASE_URL": database_url,
        "ELN_SHARD_COUNT": "2",
        "ELN_LOG_LEVEL": "WARNING",
        "ELN_SYNC_COMMANDS": "never",
        "ELN_USER_RATE": "1000/1",  # the test asks again until the edit is served
        "ELN_CHANNEL_RATE": "1000/1",
    }


@contextlib.asynccontextmanager
async def bot_process(env: dict[str, str], shard: int) -> AsyncIterator[None]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env={**env, "ELN_SHARD_IDS": str(shard)}
    )
    try:
        yield
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


async def answer_to(standin: StandIn, guild: FakeGuild, question: str) -> dict[str, Any]:
    """The bot's reply (its JSON body) to a mention in the guild's #general."""
    content = f"{standin.bot_user.mention} {question}"
    message = await standin.dispatch_message(guild.text_channels[0], content)

    def reply() -> Any:
        for r in standin.requests:
            reference = (
                (r.json or {}).get("message_reference") if isinstance(r.json, dict) else None
            )
            if r.done and reference and str(reference.get("message_id")) == message["id"]:
                return r
        return None

    found = await standin.wait_until(reply, 15, f"a reply to {question!r}")
    return dict(found.json)


def answered_entry(body: dict[str, Any]) -> str | None:
    embeds = body.get("embeds") or []
    footer = (embeds[0].get("footer") or {}).get("text", "") if embeds else ""
    marker = "entry: "
    return footer.split(marker, 1)[1].split()[0] if marker in footer else None


async def test_two_processes_serve_each_others_edits(
    standin: StandIn, postgresql_url: str, tmp_path: Path
) -> None:
    standin.token = TOKEN
    world = standin.world
    guilds = [world.add_guild(f"Shard {n}", shard=(n, 2)) for n in (0, 1)]
    env = bot_environment(standin, postgresql_url, tmp_path / "host-a")
    env_b = {**env, "ELN_DATA_DIR": str(tmp_path / "host-b")}
    async with bot_process(env, 0), bot_process(env_b, 1):
        await standin.wait_for_sessions(2, timeout=60)
        for guild in guilds:
            assert answered_entry(await answer_to(standin, guild, NEW_PHRASING)) != "new-start"

        cli = [sys.executable, "-m", "bot", "kb", "alias", "new-start", NEW_PHRASING]
        done = await asyncio.to_thread(
            subprocess.run, cli, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("change #1 saved: added phrasing")
        edited_at = time.monotonic()

        for guild in guilds:  # each process serves the edit once its watcher has seen it
            while answered_entry(await answer_to(standin, guild, NEW_PHRASING)) != "new-start":
                assert time.monotonic() - edited_at < 30, "the edit never reached this shard"
                await asyncio.sleep(0.2)
