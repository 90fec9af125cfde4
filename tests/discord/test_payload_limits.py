"""Every payload the bot builds, from the largest knowledge the format allows (``tests.edge``),
checked against Discord's limits as the vendored OpenAPI description states them
(tests/data/discord-api-spec), plus the few Discord documents that the description lacks
(the stand-in's ``limit_violations``): embeds, buttons, select menus, modals, choices."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.config import Settings
from bot.core.knowledge import DEFAULT_LIMITS as LIMITS
from bot.core.knowledge import Entry, Knowledge
from bot.core.matching import Status
from bot.discord import render
from bot.discord.bot import build_services, create_bot
from bot.discord.client import QABot
from bot.discord.cogs.ask import AskCog
from bot.discord.cogs.browse import TopicView
from bot.discord.cogs.kb import forms
from bot.discord.cogs.kb.forms import Confirm, EntryModal
from bot.discord.cogs.kb.unanswered import UnansweredView, unanswered_embed
from bot.discord.replies import NO_PINGS, Reply
from bot.discord.views import reply_for
from bot.storage.usage import UnansweredGroup
from tests.conftest import DISCORD_SPEC
from tests.e2e.standin.validate import (
    CALLBACK,
    CONTENT_LIMIT,
    EMBED_TOTAL_LIMIT,
    SpecValidator,
    Violation,
    limit_violations,
)
from tests.edge import EDGE_DOC, MAIN, MARKS

from .conftest import make_entry, make_match

MESSAGES = "/channels/{channel_id}/messages"
ASKER = 10**19  # the longest user id there is
EPHEMERAL = 64


@pytest.fixture(scope="module")
def spec() -> SpecValidator:
    return SpecValidator.load(DISCORD_SPEC)


def schema(spec: SpecValidator, name: str) -> dict[str, Any]:
    return spec.spec["components"]["schemas"][name]  # type: ignore[no-any-return]


def violations(spec: SpecValidator, template: str, body: dict[str, Any]) -> list[Violation]:
    """Why Discord would refuse ``body`` POSTed to ``template``: the spec, then the rest."""
    return spec.validate_request("POST", template, body) + limit_violations("POST", template, body)


def message(reply: Reply) -> dict[str, Any]:
    """The body discord.py sends for a reply, as a message or an interaction's data."""
    body: dict[str, Any] = {"allowed_mentions": NO_PINGS.to_dict()}
    if reply.content is not None:
        body["content"] = reply.content
    if reply.embed is not None:
        body["embeds"] = [reply.embed.to_dict()]
    if reply.view is not None:
        body["components"] = reply.view.to_components()
    return body


def assert_fits(spec: SpecValidator, reply: Reply) -> None:
    """As a channel message and as a private interaction reply."""
    body = message(reply)
    assert violations(spec, MESSAGES, body) == []
    callback = {"type": 4, "data": {**body, "flags": EPHEMERAL}}
    assert violations(spec, CALLBACK, callback) == []


def assert_modal_fits(spec: SpecValidator, modal: discord.ui.Modal) -> dict[str, Any]:
    data = modal.to_dict()
    assert violations(spec, CALLBACK, {"type": 9, "data": data}) == []
    return data


def fields_of(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["label"]: f for row in data["components"] for f in row["components"]}


def worst_case_doc() -> dict[str, Any]:
    """The edge document with markdown in every question: each mark is escaped when shown."""
    doc = copy.deepcopy(EDGE_DOC)
    for n, item in enumerate(doc["entries"]):
        marks = f"{n} " + (MARKS + " ") * (LIMITS.max_question // len(MARKS))
        item["question"] = marks[: LIMITS.max_question - 1] + "?"
        item["alternates"] = [f"{item['id']} {k}" for k in range(6)]
    return doc


@pytest.fixture(params=["edge", "markdown"])
def edge_bot(
    request: pytest.FixtureRequest, write_knowledge: Callable[[Any], Path], tmp_path: Path
) -> QABot:
    """The production bot (not connected) serving knowledge at every limit."""
    doc = EDGE_DOC if request.param == "edge" else worst_case_doc()
    settings = Settings(knowledge_path=write_knowledge(doc), data_dir=tmp_path / "data")
    return create_bot(settings, build_services(settings))


def served(bot: QABot) -> Knowledge:
    return bot.service.snapshot.knowledge


@pytest.mark.parametrize(
    ("ours", "schema_name", "path"),
    [
        (render.TITLE_MAX, "RichEmbed", "title.maxLength"),
        (render.DESCRIPTION_MAX, "RichEmbed", "description.maxLength"),
        (render.FIELD_NAME_MAX, "RichEmbedField", "name.maxLength"),
        (render.FIELD_VALUE_MAX, "RichEmbedField", "value.maxLength"),
        (render.FOOTER_MAX, "RichEmbedFooter", "text.maxLength"),
        (render.LABEL_MAX, "ButtonComponentForMessageRequest", "label.maxLength"),
        (render.OPTION_MAX, "StringSelectOptionForRequest", "label.maxLength"),
        (render.OPTION_MAX, "StringSelectOptionForRequest", "value.maxLength"),
        (render.CHOICE_MAX, "ApplicationCommandOptionStringChoice", "name.maxLength"),
        (forms.MODAL_VALUE_MAX, "TextInputComponentForModalRequest", "value.maxLength"),
        (forms.MODAL_VALUE_MAX, "TextInputComponentForModalRequest", "max_length.maximum"),
    ],
)
def test_the_bots_limits_are_the_specs(
    spec: SpecValidator, ours: int, schema_name: str, path: str
) -> None:
    """The copies the bot clips to (it cannot read the spec at run time) match it."""
    prop, key = path.split(".")
    assert schema(spec, schema_name)["properties"][prop][key] == ours


def test_the_bots_other_limits_are_the_stand_ins() -> None:
    """Documented by Discord but not in the spec (which allows 4,000 for content)."""
    assert (render.CONTENT_MAX, render.EMBED_TOTAL_MAX) == (CONTENT_LIMIT, EMBED_TOTAL_LIMIT)


def test_the_longest_source_link_fits_a_field(spec: SpecValidator) -> None:
    """The longest title (every character a mark) and the longest URL make one link."""
    title = ("*" * LIMITS.max_source_title)[: LIMITS.max_source_title]
    url = "https://example.org/" + "p" * (LIMITS.max_url - 20)
    line = render.link(title, url)
    value = schema(spec, "RichEmbedField")["properties"]["value"]["maxLength"]
    assert len(line) <= value and line.endswith(f"]({url})")


async def test_every_answer_fits(spec: SpecValidator, edge_bot: QABot) -> None:
    knowledge = served(edge_bot)
    for entry in knowledge.entries:
        for found in (entry, make_match(Status.ANSWER, entry, score=99.9)):
            assert_fits(spec, reply_for(found, ASKER, knowledge, dismissable=True))
        passage = Reply(embed=render.passage_embed(entry))
        assert_fits(spec, passage)


async def test_did_you_mean_fits(spec: SpecValidator, edge_bot: QABot) -> None:
    knowledge = served(edge_bot)
    match = make_match(Status.UNSURE, *knowledge.entries[:3])
    reply = reply_for(match, ASKER, knowledge, dismissable=True)
    assert_fits(spec, reply)
    assert reply.embed is not None and reply.embed.description
    if "*" in knowledge.entries[0].question:
        assert "\\*" in reply.embed.description  # shown as typed, escapes and all


async def test_the_sources_and_help_cards_fit(spec: SpecValidator, edge_bot: QABot) -> None:
    assert_fits(spec, Reply(embed=render.sources_embed(served(edge_bot))))
    for answer_channels in (False, True):
        assert_fits(spec, Reply(embed=render.help_embed(answer_channels)))


async def test_the_topic_browser_fits(spec: SpecValidator, edge_bot: QABot) -> None:
    knowledge = served(edge_bot)
    for tag in (None, *knowledge.tags):
        view = TopicView(edge_bot, edge_bot.service.snapshot.knowledge, tag)
        entries = knowledge.by_tag.get(tag or "", ())
        assert_fits(spec, Reply(embed=render.topic_embed(tag or "", entries), view=view))
        view.stop()


async def test_autocomplete_choices_fit(spec: SpecValidator, edge_bot: QABot) -> None:
    cog = AskCog(edge_bot)
    for typed in ("", "edge case", "x" * 6000):
        choices = [c.to_dict() for c in cog.suggest(edge_bot.service, typed)]
        assert violations(spec, CALLBACK, {"type": 8, "data": {"choices": choices}}) == []


def group(n: int, example: str) -> UnansweredGroup:
    now = datetime.now(UTC)
    return UnansweredGroup(f"g{n}", example, 10**6, now, now, (MAIN,), 12.0, ("guild",))


async def test_the_unanswered_list_fits_and_shows_questions_as_typed(
    spec: SpecValidator, edge_bot: QABot
) -> None:
    sneaky = "[Official NATO page](https://evil.example/login) " + "why? " * 200  # 1,000+
    groups = [group(n, sneaky) for n in range(10)]

    async def attach(*_: Any) -> None: ...

    view = UnansweredView(ASKER, groups, served(edge_bot), attach, attach)
    embed = unanswered_embed(groups)
    assert_fits(spec, Reply(embed=embed, view=view))
    assert embed.description and "\\[Official NATO page\\](https" in embed.description
    view.stop()


async def test_confirm_buttons_fit(spec: SpecValidator) -> None:
    async def yes(_: Any) -> None: ...

    for label in ("Remove", "Import", "Confirm"):
        view = Confirm(ASKER, yes, label=label)
        assert_fits(spec, Reply(content="x" * render.CONTENT_MAX, view=view))
        view.stop()


async def submit(*_: Any) -> None: ...


async def test_the_add_form_fits_with_the_longest_member_question(spec: SpecValidator) -> None:
    question = "a long\nquestion " * 100  # the usage records keep 1,000 characters
    data = assert_modal_fits(spec, EntryModal(submit, question=question[:1000]))
    value = fields_of(data)["Question"]["value"]
    assert len(value) == LIMITS.max_question and "\n" not in value
    assert_modal_fits(spec, EntryModal(submit))


async def test_the_edit_form_fits_every_edge_entry(spec: SpecValidator, edge_bot: QABot) -> None:
    for entry in served(edge_bot).entries:
        data = assert_modal_fits(spec, EntryModal(submit, entry=entry))
        assert fields_of(data)["Question"]["value"] == entry.question


async def test_the_edit_form_leaves_out_lists_too_long_to_show_whole(
    spec: SpecValidator,
) -> None:
    alternates = tuple(f"{n} " + "w" * (LIMITS.max_phrasing - 4) for n in range(200))
    entry: Entry = make_entry(alternates=alternates)
    data = assert_modal_fits(spec, EntryModal(submit, entry=entry))
    field = fields_of(data)["Other ways to ask (one per line)"]
    assert "value" not in field and field["placeholder"] == forms.KEEP_PLACEHOLDER
    assert not field["required"]
