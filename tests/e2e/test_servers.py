"""Many servers through the stand-in: each server's edits, records, settings and audit
channel stay inside it; the home server's edits reach everyone; /privacy forget deletes.

The world: the home server H (``ELN_HOME_GUILD``, its #bot-audit the operator's audit
channel) and two more, A (owned by anna) and B (owned by bert). alice, bob and carol are
members of all three; carol holds each server's own "Moderator" role (Manage Server). A and
B each have a "Curator" role without Manage Server: dave holds A's, erin holds B's (and is
a plain member of A).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.config import Rate

from .conftest import EPHEMERAL, QA, audit_channel, buttons, qa_settings, run_qa_bot
from .standin import (
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
    StandIn,
)
from .standin.interactions import FakeInteraction

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

SIGNED = "how many people signed the recommendations?"
UNKNOWN = (
    "what about hypersonic glide vehicles?",
    "any word on drone swarms near the baltic?",
    "who pays for the zapad exercises?",
)
REFUSED = "only moderators"
NOT_ADMIN = "only this server's admins"
UNLIMITED = Rate(1000, 1.0)


@dataclass
class Servers:
    qa: QA
    home: FakeGuild
    a: FakeGuild
    b: FakeGuild
    dave: FakeUser
    erin: FakeUser

    @property
    def world(self) -> Any:
        return self.qa.standin.world


def _add_role(standin: StandIn, guild: FakeGuild, name: str, *holders: FakeUser) -> FakeRole:
    role = FakeRole(standin.world.ids.next(), name, guild.everyone.permissions, len(guild.roles))
    guild.roles.append(role)
    for user in holders:
        guild.members.setdefault(user.id, FakeMember(user)).roles.append(role.id)
    return role


def _world(standin: StandIn) -> tuple[FakeGuild, FakeGuild, FakeGuild, FakeUser, FakeUser]:
    world = standin.world
    channels = ("general", "bot-qa", "bot-audit")
    home = standin.guild
    audit_channel(standin)
    a = world.add_guild("Server A", channels=channels, owner=world.add_user("anna"))
    b = world.add_guild("Server B", channels=channels, owner=world.add_user("bert"))
    dave, erin = world.add_user("dave"), world.add_user("erin")
    _add_role(standin, a, "Curator", dave)
    _add_role(standin, b, "Curator", erin)
    a.members[erin.id] = FakeMember(erin)
    return home, a, b, dave, erin


@pytest.fixture
async def servers(
    standin: StandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[Servers]:
    """The production bot serving H (home), A and B; fails the test if it logged an error."""
    home, a, b, dave, erin = _world(standin)
    settings = qa_settings(
        standin,
        tmp_path / "data",
        home_guild=home.id,
        audit_channel=audit_channel(standin).id,
        user_rate=UNLIMITED,  # bob asks in every place; the limits have tests of their own
        channel_rate=UNLIMITED,
    )
    async with run_qa_bot(standin, settings) as qa:
        yield Servers(qa, home, a, b, dave, erin)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [f"{r.name}: {r.getMessage()}" for r in errors]


# -- driving the bot -------------------------------------------------------------------------


async def command(
    s: Servers, guild: FakeGuild, user: FakeUser | str, name: str, **options: Any
) -> FakeInteraction:
    return await s.qa.standin.dispatch_command(
        name, options, user=user, channel_id=guild.channel("general")
    )


async def said(s: Servers, inter: FakeInteraction) -> dict[str, Any]:
    """What the user saw: the reply, or the follow-up of a deferred one (always private)."""
    callback = (await inter.callback(timeout=10)).json
    body = callback.get("data") or {}
    if callback["type"] == 5:
        body = (await s.qa.followup(inter)).json
    assert int(body.get("flags") or 0) & EPHEMERAL, body
    return body


async def text_of(
    s: Servers, guild: FakeGuild, user: FakeUser | str, name: str, **opts: Any
) -> str:
    return str((await said(s, await command(s, guild, user, name, **opts)))["content"])


async def edit_answer(
    s: Servers, guild: FakeGuild, user: FakeUser, entry: str, answer: str
) -> None:
    """A moderator's /kb edit of ``entry``'s answer, through the edit form."""
    opened = await command(s, guild, user, "kb edit", entry=entry)
    modal = (await opened.callback()).json
    assert modal["type"] == 9, modal
    fields = [c for row in modal["data"]["components"] for c in row["components"]]
    current = s.qa.bot.layers.service_for(guild.id).snapshot.knowledge.by_id[entry].answer
    (answer_id,) = [f["custom_id"] for f in fields if f.get("value") == current]
    submitted = await s.qa.standin.dispatch_modal_submit({answer_id: answer}, modal=opened)
    assert (await s.qa.followup(submitted)).json["content"].startswith("Done:")


async def answer_in(s: Servers, guild: FakeGuild | None, question: str = SIGNED) -> str:
    """bob's question in ``guild``'s #general (None: his DM), and the answer's text."""
    if guild is None:
        reply = await s.qa.reply_to(await s.qa.standin.dispatch_dm(question))
    else:
        reply = await s.qa.ask(question, channel=guild.channel("general"))
    return str(reply.json["embeds"][0]["description"])


def audit_lines(s: Servers, guild: FakeGuild) -> list[str]:
    channel = str(guild.channel("bot-audit").id)
    return [
        r.json["content"]
        for r in s.qa.standin.requests
        if r.method == "POST" and r.done and r.params.get("channel_id") == channel
    ]


def declined(s: Servers) -> list[str]:
    return [q for q in UNKNOWN if s.qa.service.match(q).entry is None]


# -- knowledge per server --------------------------------------------------------------------


async def test_an_edit_in_a_server_is_served_there_only_both_ways(servers: Servers) -> None:
    s = servers
    shipped = await answer_in(s, s.home)
    await edit_answer(s, s.a, s.world.carol, "signatories", "Server A's own answer.")
    assert await answer_in(s, s.a) == "Server A's own answer."
    assert [await answer_in(s, g) for g in (s.b, s.home, None)] == [shipped] * 3

    await edit_answer(s, s.b, s.world.carol, "signatories", "Server B's own answer.")
    assert await answer_in(s, s.b) == "Server B's own answer."
    assert await answer_in(s, s.a) == "Server A's own answer."
    assert [await answer_in(s, g) for g in (s.home, None)] == [shipped] * 2


async def test_another_servers_admin_cannot_phish_the_home_servers_members(
    servers: Servers,
) -> None:
    s = servers
    anna = s.world.user("anna")
    shipped = await answer_in(s, s.home)
    phishing = "145 people signed. Claim your signed copy: https://eln-gifts.example/login"
    await edit_answer(s, s.a, anna, "signatories", phishing)

    assert await answer_in(s, s.a) == phishing  # their server, their answer
    for place in (s.home, s.b, None):
        assert await answer_in(s, place) == shipped
    assert s.qa.service.store.history() == []  # the global layer is untouched
    (exported,) = (await s.qa.followup(await command(s, s.home, s.world.carol, "kb export"))).files
    assert "eln-gifts" not in exported.data.decode("utf-8")
    assert not any("signatories" in line for line in audit_lines(s, s.home))


async def test_history_stats_unanswered_and_export_stay_in_their_server(servers: Servers) -> None:
    s = servers
    carol, bob = s.world.carol, s.world.bob
    in_a, in_dm = declined(s)[:2]
    await edit_answer(s, s.a, carol, "signatories", "Only in server A.")
    await answer_in(s, s.a)
    await s.qa.ask(in_a, channel=s.a.channel("general"))
    await s.qa.reply_to(await s.qa.standin.dispatch_dm(in_dm, author=bob))
    insights = s.qa.insights
    await s.qa.standin.wait_until(
        lambda: insights.stats(where=s.a.id).questions == 2 and insights.unanswered(where=None),
        10,
        "A's two questions and the DM question recorded",
    )

    assert "signatories" in await text_of(s, s.a, carol, "kb history")
    assert await text_of(s, s.b, carol, "kb history") == "No changes yet."
    stats = await command(s, s.b, carol, "kb stats")
    fields = (await said(s, stats))["embeds"][0]["fields"]
    assert fields[0]["value"] == "0 asked, 0 answered, 0% declined"
    exported = (await s.qa.followup(await command(s, s.b, carol, "kb export"))).files[0]
    assert "Only in server A." not in exported.data.decode("utf-8")

    for guild, expected in ((s.a, [in_a]), (s.b, [])):
        listing = await command(s, guild, carol, "kb unanswered")
        text = (await listing.original(timeout=10))["embeds"][0]["description"]
        assert [q for q in (in_a, in_dm) if q in text] == expected, text


async def test_the_home_servers_edits_reach_every_server_and_dms(servers: Servers) -> None:
    s = servers
    await edit_answer(s, s.home, s.world.carol, "signatories", "Edited in the home server.")
    for place in (s.home, s.a, s.b, None):
        assert await answer_in(s, place) == "Edited in the home server."
    assert any("signatories" in line for line in audit_lines(s, s.home))


# -- who may do what -------------------------------------------------------------------------


async def test_a_role_of_the_same_name_elsewhere_gives_nothing(servers: Servers) -> None:
    s = servers
    anna, carol = s.world.user("anna"), s.world.carol
    curator = s.a.role("Curator")
    done = await text_of(s, s.a, anna, "settings moderator-role set", role=curator)
    assert f"<@&{curator.id}>" in done and "Manage Server alone no longer" in done

    assert await text_of(s, s.a, s.dave, "kb history") == "No changes yet."
    for guild in (s.a, s.b):  # erin holds B's "Curator", not A's
        assert REFUSED in await text_of(s, guild, s.erin, "kb history")
    for admin in (anna, carol):  # Manage Server alone no longer makes a moderator in A
        assert REFUSED in await text_of(s, s.a, admin, "kb history")
    assert await text_of(s, s.b, carol, "kb history") == "No changes yet."  # B set no role


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("settings show", {}),
        ("settings answer-channels add", {"channel": "bot-qa"}),
        ("settings moderator-role clear", {}),
        ("settings audit-channel set", {"channel": "bot-audit"}),
        ("settings strictness", {"level": "relaxed"}),
        ("settings usage off", {}),
    ],
)
async def test_settings_are_refused_to_members_and_moderators(
    servers: Servers, name: str, options: dict[str, Any]
) -> None:
    s = servers
    curator = s.a.role("Curator")
    await text_of(s, s.a, s.world.user("anna"), "settings moderator-role set", role=curator)
    values = {k: s.a.channel(v) if k == "channel" else v for k, v in options.items()}
    for user in (s.world.bob, s.dave):  # dave may edit answers (a Curator), not settings
        assert NOT_ADMIN in await text_of(s, s.a, user, name, **values)
    assert s.qa.bot.guild_settings.chosen(s.a.id) == {"moderator_role"}


def test_settings_are_for_admins_in_servers_only(servers: Servers) -> None:
    synced = servers.qa.standin.registered_command("settings")
    assert synced is not None
    assert synced["default_member_permissions"] == str(1 << 5)  # Manage Server
    assert synced.get("contexts") == [0]  # servers only


async def test_settings_change_what_happens_in_that_server(servers: Servers) -> None:
    s = servers
    anna = s.world.user("anna")
    qa_channel = s.a.channel("bot-qa")
    before = await text_of(s, s.a, anna, "settings show")
    assert "Usage records: on *(default)*" in before

    done = await text_of(s, s.a, anna, "settings answer-channels add", channel=qa_channel)
    assert done.startswith("Done:") and f"<#{qa_channel.id}>" in done
    assert "Message Content" not in done  # this bot reads message content
    listed = await text_of(s, s.a, anna, "settings answer-channels list")
    assert listed == f"Answer channels: <#{qa_channel.id}>."
    unprompted = await s.qa.ask(SIGNED, channel=qa_channel, mention=False)
    assert unprompted.json["embeds"][0]["footer"]["text"].endswith("entry: signatories")

    assert (await text_of(s, s.a, anna, "settings strictness", level="strict")).startswith("Done:")
    recorder = s.qa.bot.recorder  # drain(): every record queued so far is written
    assert (await text_of(s, s.a, anna, "settings usage off")).startswith("Done:")
    await answer_in(s, s.a)
    await recorder.drain()
    assert s.qa.insights.stats(where=s.a.id).questions == 1  # only the unprompted one
    assert (await text_of(s, s.a, anna, "settings usage on")).startswith("Done:")
    await answer_in(s, s.a)
    await recorder.drain()
    assert s.qa.insights.stats(where=s.a.id).questions == 2

    shown = await text_of(s, s.a, anna, "settings show")
    assert f"Answer channels: <#{qa_channel.id}>\n" in shown + "\n"
    assert "Unprompted answers: strict" in shown and "Usage records: on\n" in shown + "\n"
    assert "Moderators (`/kb`): members with Manage Server *(default)*" in shown
    assert "Audit channel: none *(default)*" in shown
    # B changed nothing: the operator's defaults, and no audit channel of the home server's.
    in_b = await text_of(s, s.b, s.world.user("bert"), "settings show")
    assert "Answer channels: none *(default)*" in in_b  # the operator's are the home's
    assert "Audit channel: none *(default)*" in in_b and "Unprompted answers: normal" in in_b
    at_home = await text_of(s, s.home, s.world.alice, "settings show")
    assert f"Answer channels: <#{s.home.channel('bot-qa').id}> *(default)*" in at_home
    assert f"Audit channel: <#{s.home.channel('bot-audit').id}> *(default)*" in at_home
    everyone = await text_of(s, s.a, anna, "settings moderator-role set", role=s.a.everyone)
    assert "@everyone" in everyone and s.qa.bot.guild_settings.get(s.a.id).moderator_role is None


async def test_adding_an_answer_channel_without_message_content_says_so(
    standin: StandIn, tmp_path: Path
) -> None:
    settings = qa_settings(standin, tmp_path / "data", answer_channels=frozenset())
    async with run_qa_bot(standin, settings) as qa:
        assert not qa.bot.intents.message_content
        inter = await standin.dispatch_command(
            "settings answer-channels add",
            {"channel": standin.guild.channel("bot-qa")},
            user=standin.world.alice,
        )
        reply = (await inter.callback()).json
        assert reply["type"] == 5
        body = (
            await standin.wait_for_request(
                lambda r: r.method == "POST" and r.params.get("webhook_token") == inter.token
            )
        ).json
        assert body["content"].startswith("Done:")
        assert "operator must enable the Message Content intent" in body["content"]


async def test_each_servers_audit_channel_hears_only_its_own_changes(servers: Servers) -> None:
    s = servers
    anna, bert = s.world.user("anna"), s.world.user("bert")
    for guild, admin in ((s.a, anna), (s.b, bert)):
        channel = guild.channel("bot-audit")
        done = await text_of(s, guild, admin, "settings audit-channel set", channel=channel)
        assert done == f"Done: I'll post every change made here in <#{channel.id}>."
    # Each change's audit line is posted before its "Done" reaches the moderator.
    phrases = [(s.a, "asked in server a"), (s.b, "asked in server b"), (s.home, "asked at home")]
    for guild, phrase in phrases:
        alias = await command(
            s, guild, s.world.carol, "kb alias", entry="signatories", phrase=phrase
        )
        assert (await s.qa.followup(alias)).json["content"].startswith("Done:")

    for guild, phrase in phrases:
        lines = audit_lines(s, guild)
        assert any(phrase in line for line in lines), lines
        others = [p for g, p in phrases if g is not guild]
        assert not any(p in line for line in lines for p in others), lines
    for guild in (s.a, s.b):
        (line,) = [x for x in audit_lines(s, guild) if "the audit channel" in x]
        assert f"made <#{guild.channel('bot-audit').id}> the audit channel" in line
    assert not any("the audit channel" in line for line in audit_lines(s, s.home))

    cleared = await text_of(s, s.a, anna, "settings audit-channel clear")
    assert cleared == "Done: changes made here are posted nowhere."
    assert "turned off the audit channel" in audit_lines(s, s.a)[-1]  # the old one is told


# -- privacy ---------------------------------------------------------------------------------


async def test_privacy_forget_removes_a_members_records(servers: Servers) -> None:
    s = servers
    bob, carol = s.world.bob, s.world.carol
    bobs, carols = declined(s)[:2]
    general = s.a.channel("general")
    answered = await s.qa.ask(SIGNED, channel=general)
    vote = await s.qa.standin.dispatch_component(
        s.qa.standin.messages[int(answered.response["id"])], "eln:v:signatories:0"
    )
    assert (await vote.callback()).ok
    await s.qa.ask(bobs, channel=general)
    await s.qa.ask(carols, channel=general, author=carol)
    await s.qa.standin.wait_until(
        lambda: s.qa.insights.stats(where=s.a.id).questions == 3, 10, "three questions"
    )
    assert s.qa.insights.stats(where=s.a.id).least_helpful  # bob's 👎

    info = await text_of(s, s.a, bob, "privacy info")
    assert "365 days" in info and "`/privacy forget`" in info and "DMs" in info
    prompt = await command(s, s.a, bob, "privacy forget")
    body = await said(s, prompt)
    (delete,) = [b for b in buttons(body) if b.get("label") == "Delete my data"]
    click = await s.qa.standin.dispatch_component(
        await prompt.original(), delete["custom_id"], user=bob
    )
    assert (await click.callback()).json["type"] == 7
    done = await s.qa.standin.wait_for_request(
        lambda r: r.method == "PATCH" and r.params.get("webhook_token") == click.token
    )
    assert done.json["content"] == "Done: I deleted 3 records about you."

    stats = await said(s, await command(s, s.a, carol, "kb stats"))
    assert stats["embeds"][0]["fields"][0]["value"] == "1 asked, 0 answered, 100% declined"
    assert "no votes yet" in stats["embeds"][0]["fields"][2]["value"]
    listing = await command(s, s.a, carol, "kb unanswered")
    text = (await listing.original(timeout=10))["embeds"][0]["description"]
    assert carols in text and bobs not in text


async def test_help_says_what_is_stored_and_points_to_privacy(servers: Servers) -> None:
    s = servers
    inter = await command(s, s.a, s.world.bob, "help")
    (embed,) = (await said(s, inter))["embeds"]
    (data,) = [f["value"] for f in embed["fields"] if f["name"] == "Your data"]
    assert "365 days" in data and "`/privacy`" in data
