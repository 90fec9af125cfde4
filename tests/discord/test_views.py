"""The buttons on answers: what they look like on the wire, and that a click on any message,
even one sent before a restart, rebuilds the same button from its custom_id alone."""

from __future__ import annotations

import re
from typing import Any

import discord
import pytest

from bot.core.knowledge import Entry, Knowledge
from bot.core.matching import Status
from bot.discord import render
from bot.discord.client import QABot
from bot.discord.views import (
    DYNAMIC_ITEMS,
    AnswerButton,
    ButtonItem,
    DismissButton,
    SourceButton,
    VoteButton,
    answer_view,
    suggestion_view,
)

from .conftest import USER_ID, interaction, make_entry, make_match

ASKER = 123_456_789_012_345_678


def rows(view: discord.ui.View) -> list[list[dict[str, Any]]]:
    """The view's action rows as Discord receives them."""
    return [row["components"] for row in view.to_components()]


def ids(row: list[dict[str, Any]]) -> list[str]:
    return [c["custom_id"] for c in row]


async def rebuilt(bot: QABot, item: ButtonItem) -> ButtonItem:
    """What discord.py does with a click: match the custom_id against each registered
    template, rebuild the button Discord sent back, and ask the class for its item."""
    sent = item.item.to_component_dict()
    ((cls, match),) = [
        (c, m)
        for c in DYNAMIC_ITEMS
        if (m := c.__discord_ui_compiled_template__.fullmatch(sent["custom_id"])) is not None
    ]
    button = discord.ui.Button[discord.ui.View].from_component(discord.components.Button(sent))
    click = interaction(bot, custom_id=sent["custom_id"])
    return await cls.from_custom_id(click, button, match)


@pytest.mark.parametrize(
    "make",
    [
        lambda: AnswerButton("new-start", "What about New START?", ASKER, primary=True),
        lambda: AnswerButton("x" * 64, "q" * 300, 10**19, row=0),  # the longest ids there are
        lambda: SourceButton("new-start"),
        lambda: VoteButton("new-start", True),
        lambda: VoteButton("new-start", False),
        lambda: DismissButton(ASKER),
    ],
    ids=["answer", "answer-longest", "source", "vote-up", "vote-down", "dismiss"],
)
async def test_a_click_rebuilds_the_same_button(bot: QABot, make: Any) -> None:
    item = make()
    sent = item.item.to_component_dict()
    assert len(sent["custom_id"]) <= 100  # Discord's limit for a custom_id
    again = await rebuilt(bot, item)
    assert type(again) is type(item)
    assert again.item.to_component_dict()["custom_id"] == sent["custom_id"]
    for state in ("entry_id", "asker", "helpful"):
        assert getattr(again, state, None) == getattr(item, state, None)


def test_custom_ids_say_what_the_click_needs() -> None:
    assert AnswerButton("new-start", "Q?", ASKER).item.custom_id == f"eln:a:new-start:{ASKER}"
    assert SourceButton("new-start").item.custom_id == "eln:s:new-start"
    assert VoteButton("new-start", True).item.custom_id == "eln:v:new-start:1"
    assert VoteButton("new-start", False).item.custom_id == "eln:v:new-start:0"
    assert DismissButton(ASKER).item.custom_id == f"eln:d:{ASKER}"


def test_templates_reject_what_no_button_of_ours_sends() -> None:
    for custom_id in ("eln:a:Bad_Id:1", "eln:v:x:2", "eln:d:abc", "eln:s:", "other:a:x:1"):
        assert not any(
            c.__discord_ui_compiled_template__.fullmatch(custom_id) for c in DYNAMIC_ITEMS
        ), custom_id


def test_answer_buttons_are_labelled_within_discords_limit() -> None:
    sent = AnswerButton.of(make_entry(question="q" * 300), ASKER).item.to_component_dict()
    assert len(sent["label"]) == render.LABEL_MAX and sent["label"].endswith("…")


def test_answer_view_has_related_questions_then_source_votes_and_dismiss(
    knowledge: Knowledge,
) -> None:
    entry = knowledge.by_id["signatories"]  # related: new-start
    (related, actions) = rows(answer_view(entry, ASKER, knowledge))
    assert ids(related) == [f"eln:a:new-start:{ASKER}"]
    assert related[0]["label"] == knowledge.by_id["new-start"].question
    assert ids(actions) == ["eln:s:signatories", "eln:v:signatories:1", "eln:v:signatories:0"]
    assert [c.get("label") for c in actions] == ["Show source", None, None]
    assert [c["emoji"]["name"] for c in actions] == ["📄", "👍", "👎"]

    (_, actions) = rows(answer_view(entry, ASKER, knowledge, dismissable=True))
    assert ids(actions)[-1] == f"eln:d:{ASKER}"
    assert actions[-1]["style"] == discord.ButtonStyle.danger.value


def test_answer_view_shows_at_most_four_related_and_skips_removed_ones() -> None:
    others = [make_entry(id=f"rel-{i}", question=f"Related {i}?") for i in range(6)]
    entry = make_entry(id="main", related=("gone", *(e.id for e in others)))
    knowledge = Knowledge((entry, *others))
    (related, _) = rows(answer_view(entry, ASKER, knowledge))
    assert ids(related) == [f"eln:a:rel-{i}:{ASKER}" for i in range(4)]


def test_an_answer_without_related_questions_has_one_row(knowledge: Knowledge) -> None:
    (actions,) = rows(answer_view(knowledge.by_id["new-start"], ASKER, knowledge))
    assert ids(actions)[0] == "eln:s:new-start"


def test_suggestion_view_offers_each_suggestion_the_first_highlighted() -> None:
    suggested: list[Entry] = [
        make_entry(id=f"s-{i}", question=f"Suggestion {i}?") for i in range(3)
    ]
    match = make_match(Status.UNSURE, *suggested)
    (buttons,) = rows(suggestion_view(match, ASKER))
    assert ids(buttons) == [f"eln:a:s-{i}:{ASKER}" for i in range(3)]
    styles = [b["style"] for b in buttons]
    assert styles == [discord.ButtonStyle.primary.value] + [discord.ButtonStyle.secondary.value] * 2
    (_, dismiss) = rows(suggestion_view(match, ASKER, dismissable=True))
    assert ids(dismiss) == [f"eln:d:{ASKER}"]


async def test_views_are_sent_but_not_kept(knowledge: Knowledge) -> None:
    """A kept view would time out and unregister the buttons on every answer (views are
    built on the running loop, as in the bot: discord.py needs it to track them)."""
    entry = knowledge.by_id["signatories"]
    for view in (
        answer_view(entry, ASKER, knowledge),
        suggestion_view(make_match(Status.UNSURE, entry), ASKER),
    ):
        assert view.is_finished() and view.timeout is None


def test_the_click_helper_is_a_real_interaction(bot: QABot) -> None:
    click = interaction(bot, custom_id="eln:d:1")
    assert click.user.id == USER_ID and click.data == {"custom_id": "eln:d:1", "component_type": 2}
    assert re.fullmatch(r"\d+", str(click.id))
