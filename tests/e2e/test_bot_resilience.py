"""The production bot under faults (429s, 5xx, 403, dropped gateway) and with two shards."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.discord.client import QABot

from .conftest import MESSAGES, QA, qa_settings, run_qa_bot
from .standin import StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

SIGNED = "how many people signed the recommendations?"


def _title(req: object) -> str:
    return req.json["embeds"][0]["title"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("global_", [False, True], ids=["route", "global"])
async def test_rate_limited_reply_is_delivered_after_the_wait(qa: QA, global_: bool) -> None:
    fault = qa.standin.inject(MESSAGES, status=429, retry_after=0.3, global_=global_)
    question = await qa.say(SIGNED)
    reply = await qa.reply_to(question)
    limited, delivered = qa.replies_to(question)
    assert fault.hits == 1 and limited.status == 429 and limited.fault is fault
    assert delivered is reply and reply.ok
    assert reply.received_at - limited.completed_at >= 0.29  # waited retry_after
    assert reply.json == limited.json  # the same reply, resent
    assert _title(reply).startswith("How many people")


@pytest.mark.parametrize("code", [1006, 4000])
async def test_dropped_gateway_resumes_and_answers(qa: QA, code: int) -> None:
    standin = qa.standin
    (session,) = await standin.wait_for_sessions()
    frames = len(standin.gateway.frames)
    assert await standin.drop_connection(code) == 1
    missed = await qa.say(SIGNED)  # dispatched while the bot is away: replayed on RESUME
    resume = await standin.wait_for_frame(lambda f: f.op == 6, after=frames)
    assert resume.d["session_id"] == session.session_id
    await standin.wait_for_frame(lambda f: f.t == "RESUMED", after=frames)
    assert _title(await qa.reply_to(missed)).startswith("How many people")
    after = await qa.ask(SIGNED, author=standin.world.alice)
    assert _title(after).startswith("How many people")
    assert len(standin.gateway.sessions) == 1 and session.resumes == 1  # no new IDENTIFY
    assert not any(f.op == 2 for f in standin.gateway.frames[frames:])


async def test_forbidden_channel_is_logged_and_survived(
    qa: QA, caplog: pytest.LogCaptureFixture
) -> None:
    standin = qa.standin
    general = standin.channel
    standin.inject_forbidden(f"POST /channels/{general.id}/messages", times=None)
    with caplog.at_level(logging.WARNING):
        question = await qa.say(SIGNED, channel=general)
        refused = await qa.reply_to(question, ok=False)
        assert refused.status == 403
        answered = await qa.ask(SIGNED, channel=qa.answer_channel, author=standin.world.alice)
    assert answered.ok and _title(answered).startswith("How many people")
    (record,) = [r for r in caplog.records if r.name.startswith("bot.")]
    assert record.levelno == logging.WARNING
    assert "permission" in record.getMessage() and str(general.id) in record.getMessage()
    assert not qa.bot.is_closed()
    assert len(qa.replies_to(question)) == 1  # a 403 is not retried


async def test_server_error_burst_is_retried(qa: QA) -> None:
    standin = qa.standin
    fault = standin.inject(MESSAGES, status=500, times=3)
    # Three replies in flight at once, each answered 500 first (discord.py waits 1 s).
    questions = [
        await qa.say(SIGNED),
        await qa.say(SIGNED, channel=qa.answer_channel, author=standin.world.alice),
        await standin.dispatch_dm(SIGNED, author=standin.world.carol),
    ]
    replies = [await qa.reply_to(q) for q in questions]
    assert fault.hits == 3
    for question, reply in zip(questions, replies, strict=True):
        failed, delivered = qa.replies_to(question)
        assert failed.status == 500 and delivered is reply and reply.ok
        assert _title(reply).startswith("How many people")


async def test_two_shards_each_answer_their_guilds(standin: StandIn, tmp_path: Path) -> None:
    world = standin.world
    guilds = [world.add_guild(f"Shard {n} Guild", shard=(n, 2)) for n in (0, 1)]
    settings = qa_settings(standin, tmp_path / "data", shard_count=2)
    async with run_qa_bot(standin, settings) as qa:
        assert isinstance(qa.bot, QABot) and qa.bot.shard_count == 2
        sessions = await standin.wait_for_sessions(2)
        assert sorted(s.identify["shard"] for s in sessions) == [[0, 2], [1, 2]]
        for n, guild in enumerate(guilds):
            assert standin.gateway.session_for(guild_id=guild.id).shard == (n, 2)
            reply = await qa.ask(SIGNED, channel=guild.text_channels[0])
            assert reply.params["channel_id"] == str(guild.text_channels[0].id)
            assert _title(reply).startswith("How many people")
            assert qa.bot.get_guild(guild.id).shard_id == n
    identifies = [f.d["shard"] for f in standin.gateway.frames if f.op == 2]
    assert sorted(identifies) == [[0, 2], [1, 2]]
