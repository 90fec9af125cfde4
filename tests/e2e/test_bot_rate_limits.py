"""One person cannot make the bot work faster than the per-user limit (``ELN_USER_RATE``),
whatever they use: questions, every slash command, the message menu, the buttons on answers
("did you mean", related questions, Show source, 👍/👎, Dismiss) and the select menus.

Over the limit a member is told privately when to try again, and nothing else happens: no
answer, no vote, no usage record. The windows here are an hour long, so what is allowed
never depends on how fast the machine runs the test.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.config import Rate
from bot.core.matching import Status
from bot.discord import render

from .conftest import EPHEMERAL, QA, buttons, custom_ids, find_question
from .standin import FakeUser
from .standin.interactions import FakeInteraction

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

SIGNED = "how many people signed the recommendations?"
HOUR = 3600.0
SLOW_DOWN = re.compile(re.escape(render.SLOW_DOWN_TEXT).replace(r"\{seconds\}", r"(\d+)"))


def slowed_down(body: dict[str, Any]) -> bool:
    """The short private "try again in N s" note, and nothing else."""
    data = body["data"]
    seen = SLOW_DOWN.fullmatch(data.get("content") or "")
    if seen is None:
        return False
    assert body["type"] == 4 and int(data["flags"]) & EPHEMERAL
    assert not data.get("embeds") and not data.get("components")
    assert 0 < int(seen[1]) <= HOUR
    return True


def sent(qa: QA, reply: Any) -> dict[str, Any]:
    return qa.standin.messages[int(reply.response["id"])]


async def stats_text(qa: QA) -> str:
    """What a moderator reads in /kb stats, once every queued usage record is written."""
    await qa.bot.recorder.drain()
    inter = await qa.standin.dispatch_command("kb stats", {}, user=qa.standin.world.carol)
    (embed,) = (await inter.callback()).json["data"]["embeds"]
    return "\n".join(f["value"] for f in embed["fields"])


@pytest.mark.qa(user_rate=Rate(5, HOUR))
async def test_one_member_spamming_related_and_vote_buttons_is_limited(qa: QA) -> None:
    """The probe: 40 clicks on a related question, 👎 on each answer they bring."""
    world = qa.standin.world
    answer = await qa.ask(SIGNED, author=world.bob)  # 1 of bob's 5
    related = qa.knowledge.get("signatories").related[0]
    answered, voted, refused = 0, 0, 0
    private_answer: dict[str, Any] = {}
    for _ in range(40):
        click = await qa.standin.dispatch_component(
            sent(qa, answer), f"eln:a:{related}:{world.bob.id}", user=world.bob
        )
        body = (await click.callback()).json
        if slowed_down(body):
            refused += 1  # no fresh answer: bob clicks 👎 on the last one he got
        else:
            answered += 1
            assert body["data"]["embeds"][0]["title"] == qa.knowledge.get(related).question
            private_answer = await click.original()
        vote = await qa.standin.dispatch_component(
            private_answer, f"eln:v:{related}:0", user=world.bob
        )
        if slowed_down((await vote.callback()).json):
            refused += 1
        else:
            voted += 1
    assert (answered, voted, refused) == (2, 2, 76)

    # Someone else is not held up by bob.
    other = await qa.standin.dispatch_component(
        sent(qa, answer), f"eln:a:{related}:{world.bob.id}", user=world.alice
    )
    assert (await other.callback()).json["data"]["embeds"]

    # Questions share bob's budget: his next mention is told to wait too.
    slow = await qa.ask(SIGNED, author=world.bob)
    assert SLOW_DOWN.fullmatch(slow.json["content"]) and not slow.json.get("embeds")

    # The moderators' statistics hold no more than was let through (the question, bob's
    # two answers and alice's one; bob's two votes), however they count people.
    text = await stats_text(qa)
    assert counted(r"(\d+) asked", text) <= 4
    assert counted(rf"`{related}` — (\d+)\n", text) <= 3
    assert counted(rf"`{related}` — 👎 (\d+) / 👍 0", text) <= 2


def counted(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found is not None, f"{pattern!r} not in {text!r}"
    return int(found[1])


COMMANDS: list[tuple[str, dict[str, Any]]] = [
    ("ask", {"question": SIGNED}),
    ("recommendation", {"number": 3}),
    ("topics", {}),
    ("sources", {}),
    ("help", {}),
    ("kb stats", {}),
]


@pytest.mark.qa(user_rate=Rate(1, HOUR))
@pytest.mark.parametrize(("name", "options"), COMMANDS, ids=[n for n, _ in COMMANDS])
async def test_every_slash_command_is_limited(qa: QA, name: str, options: dict[str, Any]) -> None:
    carol = qa.standin.world.carol  # a moderator, so /kb is hers to run
    first = await qa.standin.dispatch_command(name, options, user=carol)
    assert not slowed_down((await first.callback()).json)
    again = await qa.standin.dispatch_command(name, options, user=carol)
    assert slowed_down((await again.callback()).json)


@pytest.mark.qa(user_rate=Rate(1, HOUR))
async def test_the_message_menu_is_limited_but_typing_suggestions_is_not(qa: QA) -> None:
    world = qa.standin.world
    target = await qa.standin.dispatch_message(content=SIGNED, author=world.alice)
    first = await qa.standin.dispatch_message_command("Ask the bot", target, user=world.bob)
    assert (await first.callback()).json["data"]["embeds"]
    again = await qa.standin.dispatch_message_command("Ask the bot", target, user=world.bob)
    assert slowed_down((await again.callback()).json)
    for typed in ("op", "open", "open skies"):  # every keystroke is an autocomplete
        complete = await qa.standin.dispatch_autocomplete("ask", {"question": typed}, "question")
        await complete.callback()
        assert complete.choices


@pytest.mark.qa(user_rate=Rate(2, HOUR))
async def test_select_menus_are_limited_and_pick_nothing_over_it(qa: QA) -> None:
    bob = qa.standin.world.bob
    topics = await qa.standin.dispatch_command("topics", {}, user=bob)  # 1 of 2
    (tag_menu,) = buttons((await topics.callback()).json["data"])
    tag = tag_menu["options"][0]["value"]
    chosen = await pick(qa, topics, tag_menu["custom_id"], tag, bob)  # 2 of 2
    body = (await chosen.callback()).json
    assert body["type"] == 7
    question_menu = buttons(body["data"])[1]
    entry = question_menu["options"][0]["value"]
    refused = await pick(qa, topics, question_menu["custom_id"], entry, bob)
    assert slowed_down((await refused.callback()).json)
    assert f"`{entry}`" not in await stats_text(qa)  # the refused pick answered nothing


async def pick(
    qa: QA, menu: FakeInteraction, custom_id: str, value: str, user: FakeUser
) -> FakeInteraction:
    return await qa.standin.dispatch_component(
        await menu.original(), custom_id, component_type=3, values=[value], user=user
    )


@pytest.mark.qa(user_rate=Rate(1, HOUR))
async def test_did_you_mean_and_show_source_buttons_are_limited(qa: QA) -> None:
    world = qa.standin.world
    unsure = find_question(
        qa.service, lambda loose, _: loose.status is Status.UNSURE, "an unsure question"
    )
    offer = await qa.ask(unsure, author=world.bob)  # bob's one use
    assert offer.json["embeds"][0]["title"] == render.UNSURE_TITLE
    choice = await qa.standin.dispatch_component(
        sent(qa, offer), custom_ids(offer.json)[0], user=world.bob
    )
    assert slowed_down((await choice.callback()).json)
    assert sent(qa, offer)["embeds"][0]["title"] == render.UNSURE_TITLE  # left as it was

    answer = await qa.ask(SIGNED, author=world.alice)  # alice's one use
    source = "eln:s:signatories"
    assert source in custom_ids(answer.json)
    first = await qa.standin.dispatch_component(sent(qa, answer), source, user=world.carol)
    assert (await first.callback()).json["data"]["embeds"]  # carol's one use
    again = await qa.standin.dispatch_component(sent(qa, answer), source, user=world.carol)
    assert slowed_down((await again.callback()).json)


@pytest.mark.qa(user_rate=Rate(1, HOUR))
async def test_submitting_a_form_is_not_a_second_use(qa: QA) -> None:
    """The command that opened the form counted; refusing the form would lose the typing."""
    carol = qa.standin.world.carol
    opened = await qa.standin.dispatch_command("kb add", {}, user=carol)
    modal = (await opened.callback()).json["data"]
    inputs = {f["label"]: f["custom_id"] for row in modal["components"] for f in row["components"]}
    values = {
        inputs["Entry id (lowercase-with-hyphens)"]: "limits-test",
        inputs["Question"]: "Is a form submission limited?",
        inputs["Answer (mark quotes; max 1,200 characters)"]: "No, the command was.",
        inputs["Other ways to ask (one per line)"]: "\n".join(f"form limit {n}" for n in range(6)),
        inputs["Sources (Title | https://… per line)"]: "NATO Watch | https://natowatch.org/",
    }
    submitted = await qa.standin.dispatch_modal_submit(values, modal=opened)
    done = await qa.standin.wait_for_request(
        lambda r: r.method == "POST" and r.params.get("webhook_token") == submitted.token
    )
    assert done.json["content"].startswith("Done:")
    assert qa.knowledge.get("limits-test") is not None
