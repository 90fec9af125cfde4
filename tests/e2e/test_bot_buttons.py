"""The buttons on the production bot's replies: "did you mean", Show source, votes, related
questions and Dismiss. Each click is a component interaction on the message the bot sent."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.matching import Status
from bot.core.text import clip
from bot.discord import render
from bot.storage.usage import EntryVotes

from .conftest import EPHEMERAL, QA, assert_answer, custom_ids, find_question
from .standin import FakeMember

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

SIGNED = "how many people signed the recommendations?"


def _sent(qa: QA, reply: Any) -> dict[str, Any]:
    """The message the stand-in stored for a reply the bot POSTed."""
    return qa.standin.messages[int(reply.response["id"])]


async def test_did_you_mean_then_pick(qa: QA) -> None:
    world = qa.standin.world
    question = find_question(
        qa.service,
        lambda loose, strict: loose.status is Status.UNSURE and len(loose.suggestions) >= 2,
        "unsure with two suggestions",
    )
    match = qa.service.match(question)
    reply = await qa.ask(question)
    (embed,) = reply.json["embeds"]
    assert embed["title"] == render.UNSURE_TITLE
    for entry in match.suggestions:
        assert entry.question[:100] in embed["description"]
    expected = [f"eln:a:{e.id}:{world.bob.id}" for e in match.suggestions]
    assert custom_ids(reply.json) == expected  # no Dismiss: bob asked directly
    assert reply.json["allowed_mentions"]["parse"] == []

    # Someone else clicking gets the answer privately; the suggestions stay for bob.
    second = match.suggestions[1]
    other = await qa.standin.dispatch_component(_sent(qa, reply), expected[1], user=world.alice)
    callback = (await other.callback()).json
    assert callback["type"] == 4 and int(callback["data"]["flags"]) & EPHEMERAL
    assert_answer(
        callback["data"], second, world.alice.id, knowledge=qa.knowledge, confidence=False
    )
    assert _sent(qa, reply)["embeds"][0]["title"] == render.UNSURE_TITLE

    # The asker clicking turns the suggestions into the answer, in place.
    first = match.suggestions[0]
    click = await qa.standin.dispatch_component(_sent(qa, reply), expected[0], user=world.bob)
    callback = (await click.callback()).json
    assert callback["type"] == 7
    assert_answer(callback["data"], first, world.bob.id, knowledge=qa.knowledge, confidence=False)
    edited = _sent(qa, reply)
    assert edited["embeds"][0]["title"] == first.question
    assert edited["edited_timestamp"] is not None


async def test_show_source_quotes_the_passage(qa: QA) -> None:
    reply = await qa.ask(SIGNED)
    entry = qa.knowledge.get("signatories")
    click = await qa.standin.dispatch_component(_sent(qa, reply), f"eln:s:{entry.id}")
    callback = (await click.callback()).json
    assert callback["type"] == 4
    data = callback["data"]
    assert int(data["flags"]) & EPHEMERAL
    (embed,) = data["embeds"]
    assert embed["title"] == clip(f"Source for: {entry.question}", 256)
    first_words = " ".join(entry.passage[0].text.split()[:8])
    assert f"> {first_words}" in embed["description"]
    assert embed["fields"][0]["name"] == "Sources"
    assert data["allowed_mentions"]["parse"] == []


async def test_votes_are_thanked_privately_and_recorded(qa: QA) -> None:
    world = qa.standin.world
    reply = await qa.ask(SIGNED)
    entry_id = "signatories"
    up = await qa.standin.dispatch_component(_sent(qa, reply), f"eln:v:{entry_id}:1")
    down = await qa.standin.dispatch_component(
        _sent(qa, reply), f"eln:v:{entry_id}:0", user=world.alice
    )
    for inter, text in ((up, "glad it helped"), (down, "moderators review")):
        callback = (await inter.callback()).json
        assert callback["type"] == 4
        assert int(callback["data"]["flags"]) & EPHEMERAL
        assert text in callback["data"]["content"]
    stats = qa.insights.stats()
    assert EntryVotes(entry_id, helpful=1, unhelpful=1) in stats.least_helpful


async def test_related_question_button_answers_privately(qa: QA) -> None:
    reply = await qa.ask(SIGNED)
    entry = qa.knowledge.get("signatories")
    assert entry.related, "signatories should list related questions"
    related = qa.knowledge.get(entry.related[0])
    custom_id = f"eln:a:{related.id}:{qa.standin.world.bob.id}"
    click = await qa.standin.dispatch_component(_sent(qa, reply), custom_id)
    callback = (await click.callback()).json
    assert callback["type"] == 4 and int(callback["data"]["flags"]) & EPHEMERAL
    bob = qa.standin.world.bob.id
    assert_answer(callback["data"], related, bob, knowledge=qa.knowledge, confidence=False)
    assert _sent(qa, reply)["embeds"][0]["title"] == entry.question  # the answer stays


@pytest.mark.parametrize("who", ["asker", "moderator"])
async def test_dismiss_deletes_the_unprompted_reply(qa: QA, who: str) -> None:
    world = qa.standin.world
    question = await qa.say(SIGNED, channel=qa.answer_channel, mention=False)
    reply = await qa.reply_to(question)
    message = _sent(qa, reply)
    user = world.bob if who == "asker" else world.carol
    click = await qa.standin.dispatch_component(message, f"eln:d:{world.bob.id}", user=user)
    callback = await click.callback()
    assert callback.json["type"] == 6
    await qa.standin.wait_for_request(
        "DELETE /webhooks/{webhook_id}/{webhook_token}/messages/@original"
    )
    assert int(message["id"]) not in qa.standin.messages
    assert message in qa.standin.messages.deleted


async def test_dismiss_by_someone_else_is_refused(qa: QA) -> None:
    world = qa.standin.world
    dave = world.add_user("dave")
    qa.standin.guild.members[dave.id] = FakeMember(dave)  # no roles: no Manage Messages
    question = await qa.say(SIGNED, channel=qa.answer_channel, mention=False)
    reply = await qa.reply_to(question)
    message = _sent(qa, reply)
    click = await qa.standin.dispatch_component(message, f"eln:d:{world.bob.id}", user=dave)
    callback = (await click.callback()).json
    assert callback["type"] == 4 and int(callback["data"]["flags"]) & EPHEMERAL
    assert "Only the person who asked" in callback["data"]["content"]
    assert int(message["id"]) in qa.standin.messages
    assert qa.standin.requests_to("DELETE /webhooks/{webhook_id}/{webhook_token}/*") == []


async def test_picking_an_unprompted_suggestion_keeps_dismiss(qa: QA) -> None:
    world = qa.standin.world
    question = find_question(
        qa.service,
        lambda loose, strict: strict.status is Status.UNSURE and len(strict.suggestions) >= 1,
        "unsure under the answer-channel threshold",
    )
    match = qa.service.match(question, strict=True)
    reply = await qa.ask(question, channel=qa.answer_channel, mention=False)
    assert reply.json["embeds"][0]["title"] == render.UNSURE_TITLE
    assert f"eln:d:{world.bob.id}" in custom_ids(reply.json)
    first = match.suggestions[0]
    click = await qa.standin.dispatch_component(
        _sent(qa, reply), f"eln:a:{first.id}:{world.bob.id}", user=world.bob
    )
    callback = (await click.callback()).json
    assert callback["type"] == 7
    assert_answer(
        callback["data"],
        first,
        world.bob.id,
        knowledge=qa.knowledge,
        dismiss=True,
        confidence=False,
    )
