"""The production bot answering messages: mentions, DMs, answer channels, the message menu,
declines and per-user rate limits. Everything is asserted on what reached the stand-in."""

from __future__ import annotations

import pytest

from bot.config import Rate
from bot.core.matching import Status
from bot.core.normalise import looks_like_question
from bot.discord import render

from .conftest import EPHEMERAL, QA, assert_answer, custom_ids, find_question

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

SIGNED = "how many people signed the recommendations?"
OFF_TOPIC = ("What is the Kyoto Protocol?", "Who won the football world cup in 1998?")


@pytest.mark.parametrize("where", ["mention", "dm", "answer-channel"])
async def test_question_gets_an_answer_card(qa: QA, where: str) -> None:
    bob = qa.standin.world.bob
    if where == "mention":
        question = await qa.say(SIGNED)
    elif where == "dm":
        question = await qa.standin.dispatch_dm(SIGNED)
    else:
        question = await qa.say(SIGNED, channel=qa.answer_channel, mention=False)
    reply = await qa.reply_to(question)

    assert reply.params["channel_id"] == question["channel_id"]
    assert str(reply.json["message_reference"]["message_id"]) == question["id"]
    entry = qa.knowledge.get("signatories")
    assert_answer(
        reply.json,
        entry,
        bob.id,
        knowledge=qa.knowledge,
        dismiss=where == "answer-channel",
    )
    assert reply.json.get("content") is None
    (sent,) = qa.standin.messages_sent_to(int(question["channel_id"]))
    assert sent["mentions"] == [] and not sent["mention_everyone"]  # nobody was pinged
    assert len(qa.replies_to(question)) == 1


async def test_answer_channel_ignores_chatter_and_bots(qa: QA) -> None:
    chatter = [
        await qa.say(text, channel=qa.answer_channel, mention=False)
        for text in ("good morning all", "lol", "thanks, that was useful")
    ]
    other_bot = qa.standin.world.add_user("otherbot", bot=True)
    chatter.append(await qa.say(SIGNED, channel=qa.answer_channel, author=other_bot))
    chatter.append(await qa.say(SIGNED, author=other_bot))
    await qa.assert_no_reply(*chatter)


async def test_answer_channel_declines_once_then_stays_quiet(qa: QA) -> None:
    for text in OFF_TOPIC:
        assert looks_like_question(text)
        assert qa.service.match(text, strict=True).status is Status.DECLINE
    first = await qa.say(OFF_TOPIC[0], channel=qa.answer_channel, mention=False)
    reply = await qa.reply_to(first)
    assert reply.json["content"] == render.DECLINE_TEXT and not reply.json.get("embeds")
    assert len(reply.json["content"]) < 400
    second = await qa.say(OFF_TOPIC[1], channel=qa.answer_channel, mention=False)
    await qa.assert_no_reply(second)
    # A mention is a direct question: it is still answered, decline or not.
    direct = await qa.ask(OFF_TOPIC[1])
    assert direct.json["content"] == render.DECLINE_TEXT


async def test_answer_channel_needs_more_confidence_than_a_mention(qa: QA) -> None:
    question = find_question(
        qa.service,
        lambda loose, strict: (
            loose.status is Status.ANSWER
            and strict.status is not Status.ANSWER
            and looks_like_question(loose.question)
        ),
        "answered on mention but not unprompted",
    )
    match = qa.service.match(question)
    th = qa.service.thresholds
    assert th.answer <= match.score < th.answer + th.strict_bonus
    world = qa.standin.world

    unprompted = await qa.say(question, channel=qa.answer_channel, mention=False)
    reply = await qa.reply_to(unprompted)  # a "did you mean" or the decline, never an answer
    assert all(not cid.startswith("eln:s:") for cid in custom_ids(reply.json))
    assert all(e["title"] != match.entry.question for e in reply.json.get("embeds") or [])

    mentioned = await qa.ask(question, author=world.alice)
    assert_answer(mentioned.json, match.entry, world.alice.id, knowledge=qa.knowledge)


async def test_declined_mention_points_at_ask_and_topics(qa: QA) -> None:
    reply = await qa.ask(OFF_TOPIC[0])
    body = reply.json
    assert body["content"] == render.DECLINE_TEXT
    assert "/ask" in body["content"] and "/topics" in body["content"]
    assert not body.get("embeds") and not body.get("components")
    assert body["allowed_mentions"]["parse"] == []


async def test_empty_mention_gets_help(qa: QA) -> None:
    reply = await qa.ask("")
    (embed,) = reply.json["embeds"]
    assert embed["title"] == "What I can answer" and "/ask" in embed["description"]


async def test_message_menu_answers_the_selected_message(qa: QA) -> None:
    world = qa.standin.world
    target = await qa.standin.dispatch_message(content=SIGNED, author=world.alice)
    inter = await qa.standin.dispatch_message_command("Ask the bot", target, user=world.bob)
    callback = await inter.callback()
    assert callback.json["type"] == 4
    body = callback.json["data"]
    assert not int(body.get("flags") or 0) & EPHEMERAL
    entry = qa.knowledge.get("signatories")
    assert_answer(body, entry, world.bob.id, knowledge=qa.knowledge)
    assert qa.replies_to(target) == []  # answered through the interaction, not a reply


@pytest.mark.qa(user_rate=Rate(2, 60.0))
async def test_user_over_the_rate_limit_is_told_once(qa: QA) -> None:
    for _ in range(2):
        reply = await qa.ask(SIGNED)
        assert reply.json["embeds"]
    slow = await qa.ask(SIGNED)
    assert slow.json["content"] == render.SLOW_DOWN_TEXT.format(seconds=60)
    assert not slow.json.get("embeds") and not slow.json.get("components")
    silenced = [await qa.say(SIGNED), await qa.say(SIGNED, channel=qa.answer_channel)]
    await qa.assert_no_reply(*silenced)

    inter = await qa.standin.dispatch_command("ask", {"question": SIGNED})
    callback = await inter.callback()
    assert callback.json["type"] == 4
    data = callback.json["data"]
    assert int(data["flags"]) & EPHEMERAL and "Please wait" in data["content"]
    assert not data.get("embeds")


async def test_mentioning_the_bots_own_role_counts_as_asking_it(qa: QA) -> None:
    bot_role = next(r for r in qa.standin.guild.roles if r.bot_id == qa.standin.bot_user.id)
    question = await qa.standin.dispatch_message(
        qa.standin.channel,
        f"<@&{bot_role.id}> {SIGNED}",
        mentions=[],
        mention_roles=[str(bot_role.id)],
    )
    reply = await qa.reply_to(question)
    (embed,) = reply.json["embeds"]
    assert embed["title"] == qa.knowledge.get("signatories").question
    assert reply.json["allowed_mentions"]["parse"] == []
