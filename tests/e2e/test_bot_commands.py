"""The production bot's slash commands: /ask (with autocomplete), /recommendation, /topics,
/sources and /help, asserted on the interaction callbacks that reached the stand-in."""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import Rate
from bot.core.text import clip
from bot.discord import render

from .conftest import EPHEMERAL, QA, assert_answer, buttons

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

SIGNED = "how many people signed the recommendations?"


def _flags(body: dict[str, Any]) -> int:
    return int(body.get("flags") or 0)


@pytest.mark.parametrize("private", [False, True])
async def test_ask_answers_with_the_card(qa: QA, private: bool) -> None:
    options: dict[str, Any] = {"question": SIGNED}
    if private:
        options["private"] = True
    inter = await qa.standin.dispatch_command("ask", options)
    callback = await inter.callback()
    assert callback.json["type"] == 4
    body = callback.json["data"]
    assert bool(_flags(body) & EPHEMERAL) is private
    entry = qa.knowledge.get("signatories")
    assert_answer(body, entry, qa.standin.world.bob.id, knowledge=qa.knowledge)
    assert len(inter.requests()) == 1  # one callback, no follow-ups


async def test_ask_with_an_id_from_autocomplete_gives_that_entry(qa: QA) -> None:
    typed = "open skies"
    complete = await qa.standin.dispatch_autocomplete("ask", {"question": typed}, "question")
    await complete.callback()
    picked = complete.choices[1]["value"]  # not the top hit: the user chose this one
    inter = await qa.standin.dispatch_command("ask", {"question": picked})
    body = (await inter.callback()).json["data"]
    entry = qa.knowledge.get(picked)
    assert entry is not None
    assert_answer(body, entry, qa.standin.world.bob.id, knowledge=qa.knowledge, confidence=False)


async def test_ask_too_long_is_refused_politely_without_matching(
    qa: QA, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    match = qa.service.match
    monkeypatch.setattr(qa.service, "match", lambda q, **kw: calls.append(q) or match(q, **kw))
    question = (SIGNED + " ") * 14  # a clear question, only far too long
    assert qa.settings.max_question < len(question) <= 1000
    inter = await qa.standin.dispatch_command("ask", {"question": question})
    body = (await inter.callback()).json["data"]
    assert _flags(body) & EPHEMERAL
    assert body["content"] == render.TOO_LONG_TEXT.format(limit=qa.settings.max_question)
    assert not body.get("embeds") and not body.get("components")
    assert calls == []


async def test_ask_off_topic_declines_privately(qa: QA) -> None:
    inter = await qa.standin.dispatch_command("ask", {"question": "What is the Kyoto Protocol?"})
    body = (await inter.callback()).json["data"]
    assert _flags(body) & EPHEMERAL and body["content"] == render.DECLINE_TEXT
    assert not body.get("embeds")


def _assert_choices(callback_json: dict[str, Any]) -> list[dict[str, Any]]:
    assert callback_json["type"] == 8
    choices = callback_json["data"]["choices"]
    assert len(choices) <= 25
    for choice in choices:
        assert 1 <= len(choice["name"]) <= 100
        assert 1 <= len(choice["value"]) <= 100
    return choices


async def test_autocomplete_is_ranked_by_the_matcher(qa: QA) -> None:
    typed = "open skies"
    inter = await qa.standin.dispatch_autocomplete("ask", {"question": typed}, "question")
    choices = _assert_choices((await inter.callback()).json)
    ranked = qa.service.snapshot.matcher.rank(typed, 25)
    assert [c["value"] for c in choices] == [c.entry.id for c in ranked]
    assert "open-skies" in choices[0]["value"]
    first = qa.knowledge.get(choices[0]["value"])
    assert choices[0]["name"] == clip(first.question, 100)


async def test_autocomplete_without_input_lists_the_first_entries(qa: QA) -> None:
    inter = await qa.standin.dispatch_autocomplete("ask", {"question": ""}, "question")
    choices = _assert_choices((await inter.callback()).json)
    entries = qa.knowledge.entries[:25]
    assert [c["value"] for c in choices] == [e.id for e in entries]


@pytest.mark.parametrize(
    "typed",
    [
        "open skies " * 1000,
        "\u200b\u200f\u202e@everyone <@&1> \u2066skies\u2069\u200d" * 400,
        "@everyone @here",
        "\u0000\ufeff\U0001f4a3" * 50,
    ],
    ids=["10k-chars", "zero-width-rtl", "everyone", "control-emoji"],
)
async def test_autocomplete_survives_hostile_input(qa: QA, typed: str) -> None:
    inter = await qa.standin.dispatch_autocomplete("ask", {"question": typed}, "question")
    choices = _assert_choices((await inter.callback()).json)
    for choice in choices:
        assert qa.knowledge.get(choice["value"]) is not None


async def test_recommendation_number_gives_that_action(qa: QA) -> None:
    inter = await qa.standin.dispatch_command("recommendation", {"number": 4})
    callback = await inter.callback()
    assert callback.json["type"] == 4
    body = callback.json["data"]
    assert not _flags(body) & EPHEMERAL
    entry = qa.knowledge.by_action(4)
    assert entry.id == "action-founding-act"
    assert_answer(body, entry, qa.standin.world.bob.id, knowledge=qa.knowledge, confidence=False)


async def test_topics_browse_by_tag_then_question(qa: QA) -> None:
    bob = qa.standin.world.bob
    inter = await qa.standin.dispatch_command("topics")
    callback = await inter.callback()
    assert callback.json["type"] == 4
    body = callback.json["data"]
    assert _flags(body) & EPHEMERAL
    (embed,) = body["embeds"]
    assert embed["title"] == "Topics"
    (tag_select,) = buttons(body)
    assert tag_select["type"] == 3
    tags = [o["value"] for o in tag_select["options"]]
    assert tags == list(qa.knowledge.tags)[:25]

    tag = tags[0]
    message = await inter.original()
    pick_tag = await qa.standin.dispatch_component(
        message, tag_select["custom_id"], component_type=3, values=[tag], user=bob
    )
    edited = await pick_tag.callback()
    assert edited.json["type"] == 7  # the same private message, now listing the questions
    (topic_embed,) = edited.json["data"]["embeds"]
    assert topic_embed["title"] == f"Topic: {tag}"
    selects = buttons(edited.json["data"])
    assert [s["type"] for s in selects][:2] == [3, 3]
    question_select = selects[1]
    in_tag = [e.id for e in qa.knowledge.entries if tag in e.tags][:25]
    assert [o["value"] for o in question_select["options"]] == in_tag

    entry = qa.knowledge.get(in_tag[0])
    pick_question = await qa.standin.dispatch_component(
        qa.standin.messages[int(message["id"])],
        question_select["custom_id"],
        component_type=3,
        values=[entry.id],
        user=bob,
    )
    answer = await pick_question.callback()
    assert answer.json["type"] == 4
    assert _flags(answer.json["data"]) & EPHEMERAL
    assert_answer(answer.json["data"], entry, bob.id, knowledge=qa.knowledge, confidence=False)


async def test_topics_with_a_topic_option_jumps_to_it(qa: QA) -> None:
    tag = qa.knowledge.tags[-1]
    inter = await qa.standin.dispatch_command("topics", {"topic": tag})
    body = (await inter.callback()).json["data"]
    assert body["embeds"][0]["title"] == f"Topic: {tag}"
    complete = await qa.standin.dispatch_autocomplete("topics", {"topic": tag[:3]}, "topic")
    await complete.callback()
    assert tag in [c["value"] for c in complete.choices]


async def test_sources_lists_the_documents(qa: QA) -> None:
    inter = await qa.standin.dispatch_command("sources")
    callback = await inter.callback()
    body = callback.json["data"]
    assert callback.json["type"] == 4 and not _flags(body) & EPHEMERAL
    (embed,) = body["embeds"]
    assert embed["title"] == "Sources" and embed["fields"][0]["name"] == "Documents"
    text = "\n".join(f["value"] for f in embed["fields"])
    first_url = qa.knowledge.entries[0].sources[0].url
    assert f"]({first_url})" in text
    assert body["allowed_mentions"]["parse"] == []


async def test_help_explains_how_to_ask(qa: QA) -> None:
    inter = await qa.standin.dispatch_command("help")
    body = (await inter.callback()).json["data"]
    assert _flags(body) & EPHEMERAL
    (embed,) = body["embeds"]
    assert embed["title"] == "What I can answer"
    for hint in ("/ask", "/topics", "/recommendation", "/sources", "Ask the bot", "answer channel"):
        assert hint in embed["description"], hint


@pytest.mark.qa(user_rate=Rate(1, 0.45))
async def test_ask_slow_down_never_says_wait_zero_seconds(qa: QA) -> None:
    first = await qa.standin.dispatch_command("ask", {"question": SIGNED})
    assert (await first.callback()).json["data"]["embeds"]
    second = await qa.standin.dispatch_command("ask", {"question": SIGNED})
    data = (await second.callback()).json["data"]
    assert int(data["flags"]) & EPHEMERAL
    assert data["content"] == render.SLOW_DOWN_TEXT.format(seconds=1)
