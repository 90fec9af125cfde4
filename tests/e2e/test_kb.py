"""Moderators keep the answers current from Discord: /kb through the stand-in, end to end."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.knowledge import DEFAULT_LIMITS, parse_text
from bot.core.text import clip

from .conftest import EPHEMERAL, QA, audit_channel, buttons, qa_settings, run_qa_bot
from .standin import StandIn
from .standin.interactions import FakeInteraction

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

SIGNED = "how many people signed the recommendations?"
UNKNOWN = (
    "what about hypersonic glide vehicles?",
    "any word on drone swarms near the baltic?",
    "who pays for the zapad exercises?",
)


@pytest.fixture
async def qa(standin: StandIn, tmp_path: Path) -> AsyncIterator[QA]:
    """The production bot with an audit channel, where every moderator change is posted."""
    settings = qa_settings(standin, tmp_path / "data", audit_channel=audit_channel(standin).id)
    async with run_qa_bot(standin, settings) as running:
        yield running


async def answer_to(qa: QA, question: str) -> dict[str, Any]:
    """A member's question, and the embed of the bot's answer to it."""
    reply = await qa.ask(question, author=qa.standin.world.bob)
    (embed,) = reply.json["embeds"]
    return embed


SUBCOMMANDS: list[tuple[str, dict[str, Any]]] = [
    ("kb add", {}),
    ("kb edit", {"entry": "signatories"}),
    ("kb alias", {"entry": "signatories", "phrase": "who put their name to it"}),
    ("kb remove", {"entry": "signatories"}),
    ("kb history", {}),
    ("kb undo", {}),
    ("kb reload", {}),
    ("kb export", {}),
    ("kb unanswered", {}),
    ("kb stats", {}),
]


@pytest.mark.parametrize(("name", "options"), SUBCOMMANDS, ids=[n for n, _ in SUBCOMMANDS])
async def test_members_cannot_run_kb_commands_and_the_denial_is_logged(
    qa: QA, caplog: pytest.LogCaptureFixture, name: str, options: dict[str, Any]
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.discord.bot")
    inter = await qa.standin.dispatch_command(name, options, user=qa.standin.world.bob)
    callback = await inter.callback()
    assert callback.json["type"] == 4
    assert int(callback.json["data"]["flags"]) & EPHEMERAL
    assert "only moderators" in callback.json["data"]["content"]
    assert any(
        f"denied /{name}" in r.getMessage() and str(qa.standin.world.bob.id) in r.getMessage()
        for r in caplog.records
    )
    assert qa.service.store.history() == []


def test_kb_is_hidden_from_members_by_default(qa: QA) -> None:
    synced = qa.standin.registered_command("kb", guild_id=None)
    assert synced is not None
    assert synced["default_member_permissions"] == str(1 << 5)  # Manage Server
    assert synced.get("contexts") == [0]  # servers only


async def test_moderator_edits_an_answer_and_the_next_question_gets_it(qa: QA) -> None:
    carol = qa.standin.world.carol
    before = await answer_to(qa, SIGNED)
    opened = await qa.standin.dispatch_command("kb edit", {"entry": "signatories"}, user=carol)
    modal = (await opened.callback()).json
    assert modal["type"] == 9
    fields = {c["custom_id"]: c for row in modal["data"]["components"] for c in row["components"]}
    prefilled = [f.get("value") for f in fields.values()]
    assert before["description"] in prefilled  # the edit form starts from the current answer
    answer_id = next(k for k, f in fields.items() if f.get("value") == before["description"])
    new_answer = "Edited by a moderator: 145 people from 20 countries signed."
    submitted = await qa.standin.dispatch_modal_submit({answer_id: new_answer}, modal=opened)
    done = await qa.followup(submitted)
    assert done.json["content"].startswith("Done:")
    assert int(done.json["flags"]) & EPHEMERAL

    after = await answer_to(qa, SIGNED)
    assert after["description"] == new_answer
    audit = await qa.standin.wait_for_request(
        lambda r: r.method == "POST" and r.params.get("channel_id") == str(qa.audit_channel.id)
    )
    assert "signatories" in audit.json["content"]
    assert audit.json["allowed_mentions"]["parse"] == []
    (change,) = qa.service.store.history()
    assert change.by.startswith("carol") and change.op == "edit"


async def test_undo_restores_the_previous_answer(qa: QA) -> None:
    carol = qa.standin.world.carol
    original = (await answer_to(qa, SIGNED))["description"]
    alias = await qa.standin.dispatch_command(
        "kb alias",
        {"entry": "signatories", "phrase": "who put their john hancock on it"},
        user=carol,
    )
    assert (await qa.followup(alias)).json["content"].startswith("Done:")
    undo = await qa.standin.dispatch_command("kb undo", {}, user=carol)
    text = (await qa.followup(undo)).json["content"]
    assert text.startswith("Done:") and "undo" in text.lower()
    assert (await answer_to(qa, SIGNED))["description"] == original
    assert qa.service.store.merged_document() == qa.service.store._shipped().data


async def test_remove_asks_for_confirmation_and_only_the_moderator_confirms(qa: QA) -> None:
    carol, bob = qa.standin.world.carol, qa.standin.world.bob
    inter = await qa.standin.dispatch_command("kb remove", {"entry": "nato-watch"}, user=carol)
    prompt = (await inter.callback()).json["data"]
    confirm = next(b for b in buttons(prompt) if b.get("label") == "Remove")
    message = await inter.original()
    refused = await qa.standin.dispatch_component(message, confirm["custom_id"], user=bob)
    assert "Only the moderator" in (await refused.callback()).json["data"]["content"]
    assert qa.service.snapshot.knowledge.get("nato-watch") is not None

    yes = await qa.standin.dispatch_component(message, confirm["custom_id"], user=carol)
    assert (await yes.callback()).json["type"] == 7
    assert (await qa.followup(yes)).json["content"].startswith("Done:")
    assert qa.service.snapshot.knowledge.get("nato-watch") is None
    history = await qa.standin.dispatch_command("kb history", {}, user=carol)
    assert "nato-watch" in (await history.callback()).json["data"]["content"]


async def test_unanswered_question_attached_as_alias_is_answered_afterwards(qa: QA) -> None:
    carol = qa.standin.world.carol
    question = next(q for q in UNKNOWN if qa.service.match(q).entry is None)
    first = await qa.ask(question, author=qa.standin.world.bob)
    assert not first.json.get("embeds") or first.json["embeds"][0]["title"] == "Did you mean…"
    await qa.standin.wait_until(qa.insights.unanswered, 5, "the question recorded")

    listing = await qa.standin.dispatch_command("kb unanswered", {}, user=carol)
    assert (await listing.callback()).json["type"] == 5  # deferred: the listing follows
    body = await listing.original()
    assert question in body["embeds"][0]["description"]
    (pick,) = buttons(body)
    message = await listing.original()
    chosen = await qa.standin.dispatch_component(
        message,
        pick["custom_id"],
        component_type=3,
        values=[pick["options"][0]["value"]],
        user=carol,
    )
    step_two = (await chosen.callback()).json["data"]
    target = next(
        c for c in buttons(step_two) if c["type"] == 3 and c["custom_id"] != pick["custom_id"]
    )
    attach = await qa.standin.dispatch_component(
        await listing.original(),
        target["custom_id"],
        component_type=3,
        values=["confidence-building-measures"],
        user=carol,
    )
    assert (await qa.followup(attach)).json["content"].startswith("Done:")

    answered = await answer_to(qa, question)
    expected = qa.service.snapshot.knowledge.get("confidence-building-measures")
    assert answered["title"] == expected.question
    assert qa.insights.unanswered() == []


LONG_QUESTION = (
    "My grandmother keeps bees in her garden and every spring she asks me the same thing, "
    "so I promised her I would find out: which flowers do honey bees like best in April, "
    "whether lavender or clover gives the sweeter honey, how many hives a small orchard can "
    "feed, and what she should plant along the fence so the swarm stays calm while the "
    "neighbours' children play football nearby on Sunday afternoons?"
)


def modal_fields(modal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A modal's text inputs by label, whether in action rows or labels."""
    fields = {}
    for row in modal["components"]:
        for field in row.get("components") or [row.get("component")]:
            fields[field.get("label") or row.get("label")] = field
    return fields


async def open_unanswered(qa: QA, question: str) -> tuple[FakeInteraction, dict[str, Any]]:
    """A member's declined ``question``, picked by a moderator in /kb unanswered."""
    carol = qa.standin.world.carol
    await qa.ask(question, author=qa.standin.world.bob)
    await qa.standin.wait_until(qa.insights.unanswered, 5, "the question recorded")
    listing = await qa.standin.dispatch_command("kb unanswered", {}, user=carol)
    await listing.callback()  # deferred; the listing follows
    (pick,) = buttons(await listing.original())
    chosen = await qa.standin.dispatch_component(
        await listing.original(),
        pick["custom_id"],
        component_type=3,
        values=[pick["options"][0]["value"]],
        user=carol,
    )
    return listing, (await chosen.callback()).json["data"]


async def test_a_long_unanswered_question_prefills_the_add_form_clipped(qa: QA) -> None:
    assert len(LONG_QUESTION) >= 400 and qa.service.match(LONG_QUESTION).entry is None
    carol = qa.standin.world.carol
    listing, step_two = await open_unanswered(qa, LONG_QUESTION)
    add = next(c for c in buttons(step_two) if c.get("label") == "Add a new entry for it")
    opened = await qa.standin.dispatch_component(
        await listing.original(), add["custom_id"], user=carol
    )
    callback = await opened.callback()
    assert callback.ok and not callback.violations  # Discord takes the form
    fields = modal_fields(callback.json["data"])
    question = fields["Question"]
    assert question["value"] == clip(LONG_QUESTION, DEFAULT_LIMITS.max_question)
    assert len(question["value"]) == question["max_length"] == DEFAULT_LIMITS.max_question

    values = {
        fields["Entry id (lowercase-with-hyphens)"]["custom_id"]: "bees-in-april",
        question["custom_id"]: "Which flowers do honey bees like best in April?",
        fields["Answer (mark quotes; max 1,200 characters)"]["custom_id"]: "Off topic here.",
        fields["Other ways to ask (one per line)"]["custom_id"]: "\n".join(
            f"bees and flowers {n}" for n in range(6)
        ),
        fields["Sources (Title | https://… per line)"]["custom_id"]: "Bees | https://bees.example/",
    }
    submitted = await qa.standin.dispatch_modal_submit(values, modal=opened)
    assert (await qa.followup(submitted)).json["content"].startswith("Done:")
    assert qa.service.snapshot.knowledge.get("bees-in-april") is not None
    assert qa.insights.unanswered() == []


HOSTILE_URLS = {
    "probe": "https://nato.int/)[Official NATO page](https://evil.example/login",
    "no spaces": "https://nato.int/)[Official_NATO_page](https://evil.example/login",
    "user before host": "https://nato.int@evil.example/login",
}
HOSTILE_WORDS = {
    "probe": "contains ')'",
    "no spaces": "contains ')'",
    "user before host": "has a name and '@' before the host",
}


@pytest.mark.parametrize("case", HOSTILE_URLS)
async def test_a_source_url_that_would_disguise_a_link_is_refused(qa: QA, case: str) -> None:
    carol = qa.standin.world.carol
    opened = await qa.standin.dispatch_command("kb add", {}, user=carol)
    fields = modal_fields((await opened.callback()).json["data"])
    values = {
        fields["Entry id (lowercase-with-hyphens)"]["custom_id"]: "nato-login",
        fields["Question"]["custom_id"]: "Where is the official NATO page?",
        fields["Answer (mark quotes; max 1,200 characters)"]["custom_id"]: "On nato.int.",
        fields["Other ways to ask (one per line)"]["custom_id"]: "\n".join(
            f"official nato page {n}" for n in range(6)
        ),
        fields["Sources (Title | https://… per line)"]["custom_id"]: (
            f"NATO Watch | https://natowatch.org/\nNATO | {HOSTILE_URLS[case]}"
        ),
    }
    submitted = await qa.standin.dispatch_modal_submit(values, modal=opened)
    text = (await qa.followup(submitted)).json["content"]
    assert text.startswith("Nothing was changed.")
    assert f"field 'sources': source 2 url {HOSTILE_WORDS[case]}" in text
    assert qa.service.snapshot.knowledge.get("nato-login") is None
    assert qa.service.store.history() == []


async def test_export_attaches_the_merged_knowledge(qa: QA) -> None:
    inter = await qa.standin.dispatch_command("kb export", {}, user=qa.standin.world.carol)
    sent = await qa.followup(inter)
    assert sent.files and sent.files[0].filename == "faq.yaml"
    exported, _ = parse_text(sent.files[0].data.decode("utf-8"))
    assert exported.by_id.keys() == qa.service.snapshot.knowledge.by_id.keys()


async def test_stats_show_questions_and_declines(qa: QA) -> None:
    await qa.ask(SIGNED, author=qa.standin.world.bob)
    await qa.ask("what is the kyoto protocol?", author=qa.standin.world.alice)
    await qa.standin.wait_until(lambda: qa.insights.stats().questions >= 2, 5, "two records")
    inter = await qa.standin.dispatch_command("kb stats", {"days": 7}, user=qa.standin.world.carol)
    (embed,) = (await inter.callback()).json["data"]["embeds"]
    text = " ".join(f["value"] for f in embed["fields"])
    assert "2 asked, 1 answered, 50% declined" in text
    assert "`signatories` — 1" in text


async def test_import_validates_then_applies_after_confirmation(qa: QA) -> None:
    carol = qa.standin.world.carol
    store = qa.service.store
    document = yaml.safe_load(store.export_yaml())
    signatories = next(e for e in document["entries"] if e["id"] == "signatories")
    signatories["answer"] = "Imported answer: 145 people from 20 countries signed."
    good = qa.standin.attach("faq.yaml", yaml.safe_dump(document, sort_keys=False).encode())

    inter = await qa.standin.dispatch_command("kb import", {"file": good}, user=carol)
    prompt = await qa.followup(inter)
    assert "1 changed" in prompt.json["content"]
    assert (await answer_to(qa, SIGNED))["description"] != signatories["answer"]  # not yet

    confirm = next(b for b in buttons(prompt.json) if b.get("label") == "Import")
    message = qa.standin.messages[int(prompt.response["id"])]
    yes = await qa.standin.dispatch_component(message, confirm["custom_id"], user=carol)
    assert (await qa.followup(yes)).json["content"].startswith("Done:")
    assert (await answer_to(qa, SIGNED))["description"] == signatories["answer"]


async def test_invalid_import_is_refused_with_the_problem_named(qa: QA) -> None:
    carol = qa.standin.world.carol
    broken = qa.standin.attach("broken.yaml", b"entries:\n  - id: x\n    question: q\n")
    inter = await qa.standin.dispatch_command("kb import", {"file": broken}, user=carol)
    text = (await qa.followup(inter)).json["content"]
    assert "`broken.yaml` is not valid" in text and "field 'answer': is missing" in text
    assert qa.service.store.history() == []
    audit = await qa.standin.wait_for_request(
        lambda r: r.method == "POST" and r.params.get("channel_id") == str(qa.audit_channel.id)
    )
    assert "invalid file" in audit.json["content"]
