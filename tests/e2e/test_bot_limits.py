"""Knowledge at every limit the knowledge format allows (``tests.edge``): each message the
bot builds from it must still pass the stand-in's OpenAPI and documented-limit checks (the
``standin`` fixture fails the test on any violation, so these tests mostly just drive the
bot)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.knowledge import DEFAULT_LIMITS as LIMITS
from bot.core.matching import Thresholds
from tests.edge import EDGE_DOC, EDGE_QUESTION, MAIN, RELATED, SOURCES, TAGS

from .conftest import EPHEMERAL, QA, buttons, custom_ids

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]


def _sent(qa: QA, req: Any) -> dict[str, Any]:
    return qa.standin.messages[int(req.response["id"])]


def test_the_edge_document_is_at_the_limits() -> None:
    main = EDGE_DOC["entries"][0]
    assert len(main["id"]) == 64 and len(main["question"]) == LIMITS.max_question
    assert len(main["answer"]) == LIMITS.max_answer
    assert len(main["sources"]) == LIMITS.max_sources
    assert all(len(s["title"]) == LIMITS.max_source_title for s in main["sources"])
    assert all(len(s["url"]) == LIMITS.max_url for s in main["sources"])
    assert len(main["related"]) == 4
    assert all(len(e["question"]) == LIMITS.max_question for e in EDGE_DOC["entries"])


@pytest.mark.qa(knowledge=EDGE_DOC)
async def test_edge_answer_and_source_fit_discord(qa: QA) -> None:
    bob = qa.standin.world.bob
    assert qa.knowledge.get(MAIN) is not None
    for channel, mention in ((None, True), (qa.answer_channel, False)):  # + Dismiss button
        reply = await qa.ask(EDGE_QUESTION, channel=channel, mention=mention)
        assert reply.ok and not reply.violations
        (embed,) = reply.json["embeds"]
        assert embed["title"] == EDGE_QUESTION
        assert len(custom_ids(reply.json)) == 7 + (not mention)
        assert all(len(c["label"]) <= 80 for c in buttons(reply.json) if "label" in c)

    click = await qa.standin.dispatch_component(_sent(qa, reply), f"eln:s:{MAIN}")
    source = await click.callback()
    assert source.ok and not source.violations
    assert int(source.json["data"]["flags"]) & EPHEMERAL

    related = f"eln:a:{RELATED[3]}:{bob.id}"
    click = await qa.standin.dispatch_component(_sent(qa, reply), related)
    answer = await click.callback()
    assert answer.ok and answer.json["data"]["embeds"][0]["title"].startswith("What is related")


@pytest.mark.qa(knowledge=EDGE_DOC, thresholds=Thresholds(answer=101.0, sure=101.0))
async def test_edge_did_you_mean_fits_discord(qa: QA) -> None:
    bob = qa.standin.world.bob
    reply = await qa.ask("What is related edge case?")
    assert reply.ok and not reply.violations
    ids = custom_ids(reply.json)
    assert len(ids) == 3 and all(len(i) <= 100 for i in ids)
    assert all(len(c["label"]) <= 80 for c in buttons(reply.json))
    click = await qa.standin.dispatch_component(_sent(qa, reply), ids[0], user=bob)
    edited = await click.callback()
    assert edited.ok and edited.json["type"] == 7


@pytest.mark.qa(knowledge=EDGE_DOC)
async def test_edge_autocomplete_topics_and_sources_fit_discord(qa: QA) -> None:
    complete = await qa.standin.dispatch_autocomplete("ask", {"question": "edge"}, "question")
    callback = await complete.callback()
    assert callback.ok and complete.choices
    assert all(len(c["name"]) <= 100 for c in complete.choices)
    empty = await qa.standin.dispatch_autocomplete("ask", {"question": ""}, "question")
    assert (await empty.callback()).ok

    topics = await qa.standin.dispatch_command("topics", {"topic": TAGS[0]})
    body = (await topics.callback()).json["data"]
    tag_select, question_select = buttons(body)[:2]
    assert len(question_select["options"]) == len(EDGE_DOC["entries"])
    pick = await qa.standin.dispatch_component(
        await topics.original(),
        question_select["custom_id"],
        component_type=3,
        values=[MAIN],
    )
    assert (await pick.callback()).ok
    tag = await qa.standin.dispatch_component(
        qa.standin.messages[topics.original_message_id],
        tag_select["custom_id"],
        component_type=3,
        values=[TAGS[-1]],
    )
    assert (await tag.callback()).ok

    every_topic = await qa.standin.dispatch_command("topics")
    assert (await every_topic.callback()).ok

    sources = await qa.standin.dispatch_command("sources")
    callback = await sources.callback()
    assert callback.ok and not callback.violations


@pytest.mark.qa(knowledge=EDGE_DOC)
async def test_edit_form_of_the_edge_entry_fits_and_keeps_what_it_cannot_show(qa: QA) -> None:
    carol = qa.standin.world.carol
    opened = await qa.standin.dispatch_command("kb edit", {"entry": MAIN}, user=carol)
    callback = await opened.callback()
    assert callback.ok and not callback.violations
    rows = callback.json["data"]["components"]
    fields = {f["label"]: f for row in rows for f in row["components"]}
    assert fields["Question"]["value"] == EDGE_QUESTION
    assert len(fields["Answer (mark quotes; max 1,200 characters)"]["value"]) == LIMITS.max_answer
    sources = fields["Sources (Title | https://… per line)"]
    assert "value" not in sources and not sources["required"]  # 10 long links: over 4,000
    assert sources["placeholder"].startswith("Too long to show here")

    new_answer = "A shorter answer at the edge."
    answer_id = fields["Answer (mark quotes; max 1,200 characters)"]["custom_id"]
    submitted = await qa.standin.dispatch_modal_submit({answer_id: new_answer}, modal=opened)
    done = await qa.standin.wait_for_request(
        lambda r: r.method == "POST" and r.params.get("webhook_token") == submitted.token
    )
    assert done.json["content"].startswith("Done:")
    edited = qa.knowledge.get(MAIN)
    assert edited.answer == new_answer
    assert [s.url for s in edited.sources] == [s["url"] for s in SOURCES]  # kept as they were
