"""The one reply function: what every surface sends for an answer, an unsure match, a
decline, or a question too long to match; and the usage record that goes with it."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.core import smalltalk
from bot.core.knowledge import Knowledge
from bot.core.matching import Match, Status
from bot.core.smalltalk import Kind
from bot.discord import render
from bot.discord.client import QABot
from bot.discord.recording import UsageRecorder
from bot.discord.replies import NO_PINGS, Reply, too_long
from bot.discord.views import answer, reply_for
from tests.conftest import open_test_insights

from .conftest import CHANNEL_ID, GUILD_ID, USER_ID, interaction, make_entry, make_match

ASKER = 42_000_000_000_000_000


def sent(reply: Reply) -> dict[str, Any]:
    """The message body discord.py would send for ``reply``."""
    kwargs = reply.kwargs()
    body: dict[str, Any] = {"allowed_mentions": kwargs["allowed_mentions"].to_dict()}
    if "content" in kwargs:
        body["content"] = kwargs["content"]
    if "embed" in kwargs:
        body["embeds"] = [kwargs["embed"].to_dict()]
    if "view" in kwargs:
        body["components"] = kwargs["view"].to_components()
    return body


def custom_ids(body: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in body.get("components", []) for c in row["components"]]


def assert_pings_nobody(body: dict[str, Any]) -> None:
    """Discord pings only what ``allowed_mentions`` allows, whatever the text says."""
    allowed = body["allowed_mentions"]
    assert allowed["parse"] == [] and not allowed.get("users") and not allowed.get("roles")
    assert allowed.get("replied_user") in (None, False)


async def test_a_confident_match_is_the_answer_card_with_its_buttons(
    knowledge: Knowledge,
) -> None:
    entry = knowledge.by_id["signatories"]
    reply = reply_for(make_match(Status.ANSWER, entry, score=88.0), ASKER, knowledge)
    body = sent(reply)
    assert_pings_nobody(body)
    (embed,) = body["embeds"]
    assert embed["title"] == entry.question and embed["description"] == entry.answer
    assert embed["footer"]["text"] == "Confidence 88% · entry: signatories"
    assert custom_ids(body) == [
        f"eln:a:new-start:{ASKER}",
        "eln:s:signatories",
        "eln:v:signatories:1",
        "eln:v:signatories:0",
    ]
    assert "content" not in body and not reply.private


async def test_a_picked_entry_is_the_same_card_without_a_confidence(knowledge: Knowledge) -> None:
    entry = knowledge.by_id["signatories"]
    picked = sent(reply_for(entry, ASKER, knowledge))
    matched = sent(reply_for(make_match(Status.ANSWER, entry), ASKER, knowledge))
    assert picked["embeds"][0]["footer"]["text"] == "entry: signatories"
    assert custom_ids(picked) == custom_ids(matched)
    assert picked["embeds"][0]["description"] == matched["embeds"][0]["description"]


async def test_an_unsure_match_offers_its_suggestions(knowledge: Knowledge) -> None:
    first, second = knowledge.by_id["new-start"], knowledge.by_id["signatories"]
    reply = reply_for(make_match(Status.UNSURE, first, second, score=60.0), ASKER, knowledge)
    body = sent(reply)
    assert_pings_nobody(body)
    assert body["embeds"][0]["title"] == render.UNSURE_TITLE
    assert custom_ids(body) == [f"eln:a:new-start:{ASKER}", f"eln:a:signatories:{ASKER}"]
    assert not reply.private


async def test_a_decline_is_the_polite_text_for_the_asker_only(knowledge: Knowledge) -> None:
    reply = reply_for(make_match(Status.DECLINE, knowledge.by_id["new-start"]), ASKER, knowledge)
    body = sent(reply)
    assert_pings_nobody(body)
    assert body == {"allowed_mentions": body["allowed_mentions"], "content": render.DECLINE_TEXT}
    assert reply.private


async def test_unsure_without_suggestions_declines_in_public(knowledge: Knowledge) -> None:
    reply = reply_for(make_match(Status.UNSURE), ASKER, knowledge)
    assert reply.content == render.DECLINE_TEXT and not reply.private


@pytest.mark.parametrize("status", [Status.ANSWER, Status.UNSURE])
async def test_unprompted_replies_can_be_dismissed(knowledge: Knowledge, status: Status) -> None:
    match = make_match(status, knowledge.by_id["signatories"])
    assert f"eln:d:{ASKER}" not in custom_ids(sent(reply_for(match, ASKER, knowledge)))
    body = sent(reply_for(match, ASKER, knowledge, dismissable=True))
    assert custom_ids(body)[-1] == f"eln:d:{ASKER}"


def test_a_question_over_the_limit_is_refused_privately_and_not_matched() -> None:
    assert too_long("x" * 500, 500) is None
    refusal = too_long("x" * 501, 500)
    assert refusal is not None and refusal.private
    assert refusal.content == render.TOO_LONG_TEXT.format(limit=500)
    assert sent(refusal) == {"allowed_mentions": NO_PINGS.to_dict(), "content": refusal.content}


async def test_oversized_entries_still_make_a_sendable_reply() -> None:
    entry = make_entry(question="q" * 1_000, answer="a" * 10_000, related=("other",))
    other = make_entry(id="other", question="o" * 500)
    body = sent(reply_for(entry, ASKER, Knowledge((entry, other))))
    embed = discord.Embed.from_dict(body["embeds"][0])
    assert len(embed) <= render.EMBED_TOTAL_MAX
    labels = [c.get("label") or "" for row in body["components"] for c in row["components"]]
    assert all(len(label) <= render.LABEL_MAX for label in labels)


# --- answer(): the reply plus its usage record ----------------------------------------------


async def test_answering_records_the_answer_for_the_statistics(bot: QABot) -> None:
    knowledge = bot.service.snapshot.knowledge
    entry = knowledge.by_id["signatories"]
    click = interaction(bot)
    reply = await answer(bot, entry, click)
    assert sent(reply) == sent(reply_for(entry, USER_ID, knowledge))  # asked by the clicker
    await bot.recorder.drain()
    stats = bot.insights.stats()
    assert (stats.answered, stats.declined, stats.most_asked) == (1, 0, (("signatories", 1),))


async def test_a_decline_is_recorded_with_the_closest_entries(bot: QABot) -> None:
    knowledge = bot.service.snapshot.knowledge
    match = make_match(Status.DECLINE, knowledge.by_id["new-start"], score=31.0)
    await answer(bot, match, interaction(bot))
    await bot.recorder.drain()
    (group,) = bot.insights.unanswered()
    assert group.example == match.question and group.closest == ("new-start",)
    assert group.where == (f"guild={GUILD_ID} channel={CHANNEL_ID}",)


async def test_a_failing_record_never_breaks_the_answer(
    bot: QABot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    insights = open_test_insights(tmp_path / "data")
    with insights.database.write() as conn:  # a damaged database: every insert fails
        conn.exec_driver_sql("DROP TABLE questions")
    recorder = UsageRecorder(insights, bot.guild_settings)
    entry = bot.service.snapshot.knowledge.by_id["signatories"]
    with caplog.at_level(logging.ERROR, logger="bot.discord.recording"):
        recorder.record(entry, interaction(bot))
        await recorder.drain()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        "could not record usage"
    ]


def test_small_talk_gets_its_fixed_reply_and_no_buttons(knowledge: Knowledge) -> None:
    match = Match("thanks!", Status.SMALLTALK, (), "thanks", smalltalk=Kind.THANKS)
    body = sent(reply_for(match, ASKER, knowledge))
    assert body["content"] == smalltalk.reply(Kind.THANKS, render.SMALLTALK_HINT)
    assert "embeds" not in body and "components" not in body
    assert_pings_nobody(body)


def test_a_position_past_the_end_says_how_many_actions_there_are(knowledge: Knowledge) -> None:
    count = knowledge.action_count
    match = Match(
        "recommendation 9", Status.DECLINE, (), "recommendation 9", out_of_range=9, item_count=count
    )
    body = sent(reply_for(match, ASKER, knowledge))
    assert body["content"] == render.OUT_OF_RANGE_TEXT.format(count=count)


def test_answers_show_discord_commands_for_placeholders(knowledge: Knowledge) -> None:
    entry = replace(knowledge.by_id["signatories"], answer="Use {sources} for the links.")
    (embed,) = sent(reply_for(entry, ASKER, knowledge))["embeds"]
    assert embed["description"] == "Use `/sources` for the links."
