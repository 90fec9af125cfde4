"""Prove the Discord stand-in against minimal discord.py bots defined here.

Each test runs the real, unmodified discord.py client against the stand-in on 127.0.0.1
and checks what reached the wire. The production bot has its own e2e tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
from pathlib import Path

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from .conftest import running_bot
from .standin import StandIn
from .standin.server import DEFAULT_SPEC
from .standin.validate import SpecValidator, limit_violations

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

MESSAGES = "POST /channels/{channel_id}/messages"
CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"
QUESTIONS = [f"What does recommendation {n} say?" for n in range(1, 40)]


def intents(*, message_content: bool = True) -> discord.Intents:
    value = discord.Intents.default()
    value.message_content = message_content
    return value


def make_bot(**kwargs: object) -> commands.Bot:
    options: dict = {
        "command_prefix": "!",
        "intents": intents(),
        "guild_ready_timeout": 0.05,
    }
    options.update(kwargs)
    return commands.Bot(**options)


def reply_bot() -> commands.Bot:
    """Answers "!ask <q>" with an embed, pinging nobody."""
    bot = make_bot()

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if message.author.bot or not message.content.startswith("!ask"):
            return
        embed = discord.Embed(title="Answer", description=f"{message.author.mention} asked")
        await message.channel.send(embed=embed, allowed_mentions=discord.AllowedMentions.none())

    return bot


class HelpfulView(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(label="Helpful", style=discord.ButtonStyle.success, custom_id="helpful")
    async def helpful(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        button.disabled = True
        await interaction.response.edit_message(content="Thanks for the feedback!", view=self)
        self.stop()


class FeedbackModal(discord.ui.Modal, title="Suggest an answer"):
    answer: discord.ui.TextInput = discord.ui.TextInput(
        label="Answer", custom_id="answer", style=discord.TextStyle.paragraph
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"Got: {self.answer.value}", ephemeral=True)


def qa_bot() -> commands.Bot:
    """Slash commands, autocomplete, a view, a modal and a message context menu."""
    bot = make_bot()

    @bot.tree.command(name="ask", description="Ask about the ELN recommendations")
    @app_commands.describe(question="Your question")
    async def ask(interaction: discord.Interaction, question: str) -> None:
        embed = discord.Embed(title="Answer", description=f"You asked: {question}")
        await interaction.response.send_message(embed=embed, view=HelpfulView())

    @ask.autocomplete("question")
    async def ask_complete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        hits = [q for q in QUESTIONS if current.lower() in q.lower()]
        return [app_commands.Choice(name=q, value=q) for q in hits[:25]]

    @bot.tree.command(name="slow", description="Defers, then edits the original response")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        await interaction.followup.send("still here", ephemeral=True)
        await interaction.edit_original_response(content="done")

    @bot.tree.command(name="suggest", description="Opens a modal")
    async def suggest(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal())

    @bot.tree.context_menu(name="Quote")
    async def quote(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.send_message(f"> {message.content}", ephemeral=True)

    return bot


# -- (a) login, READY, GUILD_CREATE ------------------------------------------------------
async def test_login_ready_and_guild_create(standin: StandIn) -> None:
    bot = make_bot()
    async with running_bot(bot, standin):
        assert bot.user is not None and bot.user.id == standin.bot_user.id
        assert bot.application_id == standin.world.application_id
        (guild,) = bot.guilds
        assert guild.id == standin.guild.id and guild.name == "ELN Test Server"
        assert [c.name for c in guild.text_channels] == ["general", "bot-qa"]
        assert {r.name for r in guild.roles} >= {"@everyone", "Moderator"}
        assert guild.me is not None and guild.me.guild_permissions.send_messages
        await standin.wait_for_frame(lambda f: f.direction == "send" and f.op == 11)
    routes = [r.route for r in standin.requests]
    assert routes[:2] == ["/users/@me", "/oauth2/applications/@me"]
    identify = next(f for f in standin.gateway.frames if f.op == 2)
    assert identify.d["token"] == "test-token" and identify.d["intents"] == intents().value
    (conn,) = standin.gateway.connections
    assert conn.query["v"] == "10" and conn.query["encoding"] == "json"
    assert conn.compression in ("zlib-stream", "zstd-stream")
    assert conn.heartbeats >= 1


async def test_members_intent_chunks_and_late_guild_join(standin: StandIn) -> None:
    value = intents()
    value.members = True
    bot = make_bot(intents=value)
    joined: asyncio.Queue[discord.Guild] = asyncio.Queue()

    @bot.event
    async def on_guild_join(guild: discord.Guild) -> None:
        joined.put_nowait(guild)

    async with running_bot(bot, standin):
        (guild,) = bot.guilds
        assert guild.chunked and {m.name for m in guild.members} == {
            "eln-qa-bot",
            "alice",
            "bob",
            "carol",
        }
        added = await standin.join_guild("Late Guild")
        assert (await asyncio.wait_for(joined.get(), 5)).id == added.id
    assert any(f.op == 8 for f in standin.gateway.frames)  # REQUEST_GUILD_MEMBERS


async def test_disallowed_privileged_intent_closes_4014(standin: StandIn) -> None:
    standin.privileged_intents = 0  # the app has no privileged intents enabled
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with running_bot(make_bot(), standin):
            pass


# -- (b) on_message -> embed reply ---------------------------------------------------------
async def test_on_message_reply_with_embed(standin: StandIn) -> None:
    async with running_bot(reply_bot(), standin):
        await standin.dispatch_message(content="!ask what is rec 3?", author="bob")
        req = await standin.wait_for_request(MESSAGES)
    assert req.status == 200 and not req.violations
    assert req.params["channel_id"] == str(standin.channel.id)
    (embed,) = req.json["embeds"]
    assert embed["title"] == "Answer"
    assert embed["description"] == f"{standin.world.bob.mention} asked"
    assert req.json["allowed_mentions"] == {"parse": []}
    (sent,) = standin.messages_sent_to(standin.channel)
    assert sent["mentions"] == []  # the mention in the embed pings nobody
    assert sent["author"]["id"] == str(standin.bot_user.id)


async def test_dm_round_trip(standin: StandIn) -> None:
    bot = make_bot()

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if message.guild is None and not message.author.bot:
            await message.author.send(f"echo: {message.content}")

    async with running_bot(bot, standin):
        msg = await standin.dispatch_dm("hello", author="carol")
        req = await standin.wait_for_request(MESSAGES)
    assert "guild_id" not in msg
    assert req.params["channel_id"] == msg["channel_id"]
    assert req.json["content"] == "echo: hello"


async def test_file_upload_is_multipart_and_validated(standin: StandIn) -> None:
    bot = make_bot()

    @bot.event
    async def on_message(message: discord.Message) -> None:
        if not message.author.bot:
            file = discord.File(io.BytesIO(b"hello"), filename="faq.txt")
            await message.channel.send("report", file=file, embed=discord.Embed(title="FAQ"))

    async with running_bot(bot, standin):
        await standin.dispatch_message(content="export")
        req = await standin.wait_for_request(MESSAGES)
    assert req.ok and req.headers["Content-Type"].startswith("multipart/form-data")
    (upload,) = req.files
    assert (upload.field, upload.filename, upload.data) == ("files[0]", "faq.txt", b"hello")
    assert req.json["attachments"] == [{"id": 0, "filename": "faq.txt"}]
    (sent,) = standin.messages_sent_to(standin.channel)
    assert sent["attachments"][0]["filename"] == "faq.txt" and sent["attachments"][0]["size"] == 5


async def test_message_content_withheld_without_intent(standin: StandIn) -> None:
    bot = make_bot(intents=intents(message_content=False))
    seen: list[str] = []

    @bot.event
    async def on_message(message: discord.Message) -> None:
        seen.append(message.content)

    async with running_bot(bot, standin):
        await standin.dispatch_message(content="secret")
        await standin.dispatch_message(content=f"{standin.bot_user.mention} hi")
        await standin.wait_until(lambda: len(seen) == 2, 5, "two on_message calls")
    assert seen == ["", f"{standin.bot_user.mention} hi"]


# -- (c) command tree sync ---------------------------------------------------------------
async def test_command_tree_sync(standin: StandIn) -> None:
    bot = qa_bot()
    async with running_bot(bot, standin):
        synced = await bot.tree.sync()
        guild = discord.Object(standin.guild.id)
        bot.tree.copy_global_to(guild=guild)
        await bot.tree.sync(guild=guild)
    assert {c.name for c in synced} == {"ask", "slow", "suggest", "Quote"}
    (put_global,) = standin.requests_to("PUT /applications/{application_id}/commands")
    (put_guild,) = standin.requests_to(
        "PUT /applications/{application_id}/guilds/{guild_id}/commands"
    )
    assert put_guild.params["guild_id"] == str(standin.guild.id)
    ask = next(c for c in put_global.json if c["name"] == "ask")
    (question,) = ask["options"]
    assert question["name"] == "question" and question["type"] == 3
    assert question["autocomplete"] is True and question["required"] is True
    quote = next(c for c in put_global.json if c["name"] == "Quote")
    assert (quote["type"] == 3 and "options" not in quote) or not quote["options"]
    stored = {c["name"]: c["id"] for c in standin.commands[None].values()}
    assert stored == {c.name: str(c.id) for c in synced}


# -- (d) slash command, autocomplete, defer + edit, modal, context menu -------------------
async def test_slash_command_and_autocomplete(standin: StandIn) -> None:
    bot = qa_bot()
    async with running_bot(bot, standin):
        await bot.tree.sync()
        inter = await standin.dispatch_command("ask", {"question": "rec 3"})
        callback = await inter.callback()
        auto = await standin.dispatch_autocomplete(
            "ask", {"question": "recommendation 1"}, "question"
        )
        auto_cb = await auto.callback()
    assert callback.status == 200 and callback.json["type"] == 4
    assert callback.json["data"]["embeds"][0]["description"] == "You asked: rec 3"
    assert callback.query["with_response"] == "1"
    original = standin.messages[inter.original_message_id]
    assert original["components"][0]["components"][0]["custom_id"] == "helpful"
    assert auto_cb.json["type"] == 8
    names = [c["name"] for c in auto.choices]
    assert len(names) == 11 and all("recommendation 1" in n for n in names)


async def test_defer_followup_and_edit_original(standin: StandIn) -> None:
    async with running_bot(qa_bot(), standin):
        inter = await standin.dispatch_command("slow")
        final = await inter.original()
    kinds = [(r.method, r.route.rsplit("/", 1)[-1], r.status) for r in inter.requests()]
    assert kinds == [
        ("POST", "callback", 200),
        ("POST", "{webhook_token}", 200),
        ("PATCH", "@original", 200),
    ]
    assert inter.response_type == 5
    assert final["content"] == "done" and final["flags"] & 64  # still ephemeral
    assert inter.requests()[1].json["flags"] == 64


async def test_modal_and_message_context_menu(standin: StandIn) -> None:
    async with running_bot(qa_bot(), standin):
        await standin.dispatch_command("suggest")
        opened = await standin.wait_for_request(lambda r: r.route.endswith("/callback"))
        assert opened.json["type"] == 9 and opened.json["data"]["title"] == "Suggest an answer"
        submit = await standin.dispatch_modal_submit({"answer": "Use hotlines"})
        submitted = await submit.callback()
        target = await standin.dispatch_message(content="NATO and Russia should talk")
        quoted = await standin.dispatch_message_command("Quote", target)
        quote_cb = await quoted.callback()
    assert submitted.json["data"]["content"] == "Got: Use hotlines"
    assert quote_cb.json["data"]["content"] == "> NATO and Russia should talk"


# -- (e) button on a message with a View ----------------------------------------------------
async def test_button_click_updates_message(standin: StandIn) -> None:
    async with running_bot(qa_bot(), standin):
        inter = await standin.dispatch_command("ask", {"question": "rec 1"})
        message = await inter.original()
        click = await standin.dispatch_component(message, "helpful", user="bob")
        update = await click.callback()
    assert update.json["type"] == 7
    assert click.payload["message"]["id"] == message["id"]
    edited = standin.messages[int(message["id"])]
    assert edited["content"] == "Thanks for the feedback!"
    assert edited["components"][0]["components"][0]["disabled"] is True


# -- (f) 429 with retry_after ---------------------------------------------------------------
@pytest.mark.parametrize("global_", [False, True], ids=["bucket", "global"])
async def test_rate_limited_send_is_retried(standin: StandIn, global_: bool) -> None:
    fault = standin.inject(MESSAGES, status=429, retry_after=0.3, global_=global_)
    async with running_bot(reply_bot(), standin):
        await standin.dispatch_message(content="!ask")
        ok = await standin.wait_for_request(lambda r: r.route.endswith("/messages") and r.ok)
    first, second = standin.requests_to(MESSAGES)
    assert fault.hits == 1 and first.status == 429 and second is ok
    assert second.received_at - first.completed_at >= 0.29
    assert len(standin.messages_sent_to(standin.channel)) == 1


async def test_delay_fault(standin: StandIn) -> None:
    fault = standin.inject_delay(MESSAGES, 0.3)
    async with running_bot(reply_bot(), standin):
        await standin.dispatch_message(content="!ask")
        req = await standin.wait_for_request(MESSAGES)
    assert req.ok and req.fault is fault
    assert req.completed_at - req.received_at >= 0.29


async def test_server_error_is_retried(standin: StandIn) -> None:
    standin.inject_server_error(MESSAGES, status=502)
    async with running_bot(reply_bot(), standin):
        await standin.dispatch_message(content="!ask")
        await standin.wait_for_request(lambda r: r.route.endswith("/messages") and r.ok)
    assert [r.status for r in standin.requests_to(MESSAGES)] == [502, 200]


# -- (g) gateway drops -> RESUME ------------------------------------------------------------
@pytest.mark.parametrize("code", [1006, 4000])
async def test_dropped_gateway_resumes_and_replays(standin: StandIn, code: int) -> None:
    bot = reply_bot()
    resumed = asyncio.Event()

    @bot.listen()
    async def on_resumed() -> None:
        resumed.set()

    async with running_bot(bot, standin):
        (session,) = await standin.wait_for_sessions()
        assert await standin.drop_connection(code) == 1
        # Dispatched while the client is away: must be replayed after RESUME.
        await standin.dispatch_message(content="!ask missed while down")
        resume = await standin.wait_for_frame(lambda f: f.op == 6)
        await asyncio.wait_for(resumed.wait(), 5)
        await standin.dispatch_message(content="!ask after resume")
        await standin.wait_until(
            lambda: len(standin.messages_sent_to(standin.channel)) == 2, 5, "both replies"
        )
    assert resume.d["session_id"] == session.session_id and session.resumes == 1
    assert standin.gateway.connections[-1].path == "/resume/"  # used resume_gateway_url
    assert len(standin.gateway.sessions) == 1  # no second IDENTIFY
    assert len(standin.messages_sent_to(standin.channel)) == 2


@pytest.mark.parametrize("fault", ["close-4009", "invalidate"])
async def test_non_resumable_session_reidentifies(standin: StandIn, fault: str) -> None:
    async with running_bot(reply_bot(), standin) as bot:
        (first,) = await standin.wait_for_sessions()
        if fault == "close-4009":
            await standin.drop_connection(4009)
        else:
            await standin.invalidate_session(resumable=False)
        await standin.wait_until(
            lambda: len(standin.gateway.sessions) == 2 and standin.gateway.sessions[1].live,
            5,
            "a new session",
        )
        await standin.dispatch_message(content="!ask again")
        await standin.wait_for_request(MESSAGES)
        assert bot.is_ready()
    assert not first.resumable
    assert sum(1 for f in standin.gateway.frames if f.op == 2) == 2


# -- (h) 403 on send -----------------------------------------------------------------------
async def test_forbidden_send_does_not_kill_the_bot(standin: StandIn) -> None:
    standin.inject_forbidden(MESSAGES)
    errors: list[BaseException] = []
    bot = reply_bot()

    async def on_error(event: str, *args: object, **kwargs: object) -> None:
        errors.append(sys.exc_info()[1])  # type: ignore[arg-type]

    bot.on_error = on_error  # type: ignore[method-assign]
    async with running_bot(bot, standin):
        await standin.dispatch_message(content="!ask one")
        await standin.wait_for_request(MESSAGES)
        await standin.dispatch_message(content="!ask two")
        await standin.wait_for_request(lambda r: r.route.endswith("/messages") and r.ok)
        assert not bot.is_closed()
    assert [r.status for r in standin.requests_to(MESSAGES)] == [403, 200]
    (error,) = errors
    assert isinstance(error, discord.Forbidden) and error.code == 50013


# -- (i) AutoShardedBot ----------------------------------------------------------------------
@pytest.mark.parametrize("shard_count", [2, None], ids=["explicit", "from-gateway-bot"])
async def test_auto_sharded_bot_connects_every_shard(
    standin: StandIn, shard_count: int | None
) -> None:
    other = standin.world.add_guild("Shard Test", shard=(1, 2))
    third = standin.world.add_guild("Shard Zero", shard=(0, 2))
    standin.recommended_shards = 2
    bot = commands.AutoShardedBot(
        command_prefix="!", intents=intents(), shard_count=shard_count, guild_ready_timeout=0.05
    )
    async with running_bot(bot, standin):
        sessions = await standin.wait_for_sessions(2)
        assert sorted(s.shard for s in sessions) == [(0, 2), (1, 2)]
        assert set(bot.shards) == {0, 1}
        assert {g.id for g in bot.guilds} == set(standin.world.guilds)
        assert bot.get_guild(other.id).shard_id == 1 and bot.get_guild(third.id).shard_id == 0
    asked_gateway = bool(standin.requests_to("GET /gateway/bot"))
    assert asked_gateway == (shard_count is None)
    for session in sessions:
        ready = session.events[0][2]
        ids = {int(g["id"]) for g in ready["guilds"]}
        assert all((gid >> 22) % 2 == session.shard[0] for gid in ids)


# -- (j) validation --------------------------------------------------------------------------
async def test_invalid_payload_is_caught(standin: StandIn) -> None:
    bot = make_bot()
    failures: list[discord.HTTPException] = []

    @bot.event
    async def on_message(message: discord.Message) -> None:
        try:
            await message.channel.send(embed=discord.Embed(title="T" * 300))
        except discord.HTTPException as exc:
            failures.append(exc)

    async with running_bot(bot, standin):
        await standin.dispatch_message(content="go")
        req = await standin.wait_for_request(MESSAGES)
        await standin.wait_until(lambda: failures, 5, "the bot to see the HTTPException")
    assert req.status == 400 and req.response["code"] == 50035
    (violation,) = req.violations
    assert violation.location == "embeds.0.title" and violation.source == "openapi"
    assert "maxLength 256 (got 300)" in violation.message
    assert req.response["errors"]["embeds"]["0"]["title"]["_errors"][0]["code"] == (
        "BASE_TYPE_MAX_LENGTH"
    )
    (failure,) = failures
    assert failure.status == 400 and failure.code == 50035
    standin.expect_violations()


async def test_late_interaction_callback_is_a_violation(standin: StandIn) -> None:
    standin.interaction_deadline = 0.1
    bot = make_bot()

    @bot.tree.command(name="late", description="Answers too late")
    async def late(interaction: discord.Interaction) -> None:
        await asyncio.sleep(0.2)
        with contextlib.suppress(discord.NotFound):
            await interaction.response.send_message("too late")

    async with running_bot(bot, standin):
        inter = await standin.dispatch_command("late")
        callback = await inter.callback()
    assert callback.status == 404 and callback.response["code"] == 10062
    assert callback.violations[0].source == "protocol"
    standin.expect_violations()


SPEC_CASES = {
    "embed title 257": ("POST", MESSAGES, {"embeds": [{"title": "x" * 257}]}),
    "embed description 4097": ("POST", MESSAGES, {"embeds": [{"description": "x" * 4097}]}),
    "11 embeds": ("POST", MESSAGES, {"embeds": [{"title": "x"}] * 11}),
    "26 embed fields": (
        "POST",
        MESSAGES,
        {"embeds": [{"fields": [{"name": "n", "value": "v"}] * 26}]},
    ),
    "field value 1025": (
        "POST",
        MESSAGES,
        {"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]},
    ),
    "channel content 4001": ("POST", MESSAGES, {"content": "x" * 4001}),
    "interaction content 2001": ("POST", CALLBACK, {"type": 4, "data": {"content": "x" * 2001}}),
    "26 autocomplete choices": (
        "POST",
        CALLBACK,
        {"type": 8, "data": {"choices": [{"name": f"c{i}", "value": "v"} for i in range(26)]}},
    ),
    "choice name 101": (
        "POST",
        CALLBACK,
        {"type": 8, "data": {"choices": [{"name": "x" * 101, "value": "v"}]}},
    ),
    "button label 81": (
        "POST",
        MESSAGES,
        {
            "components": [
                {
                    "type": 1,
                    "components": [{"type": 2, "style": 1, "custom_id": "a", "label": "x" * 81}],
                }
            ]
        },
    ),
    "custom_id 101": (
        "POST",
        MESSAGES,
        {
            "components": [
                {"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "x" * 101}]}
            ]
        },
    ),
    "modal title 46": (
        "POST",
        CALLBACK,
        {
            "type": 9,
            "data": {
                "custom_id": "m",
                "title": "x" * 46,
                "components": [
                    {
                        "type": 1,
                        "components": [{"type": 4, "custom_id": "a", "style": 1, "label": "l"}],
                    }
                ],
            },
        },
    ),
    "command description 101": (
        "PUT",
        "/applications/{application_id}/commands",
        [{"name": "ask", "description": "x" * 101}],
    ),
    "26 command options": (
        "PUT",
        "/applications/{application_id}/commands",
        [
            {
                "name": "ask",
                "description": "d",
                "options": [{"type": 3, "name": f"o{i}", "description": "d"} for i in range(26)],
            }
        ],
    ),
}
# Documented by Discord, absent from the OpenAPI description: checked by limit_violations.
LIMIT_CASES = {
    "channel content 2001": ("POST", MESSAGES, {"content": "x" * 2001}),
    "embeds over 6000 in total": (
        "POST",
        MESSAGES,
        {"embeds": [{"description": "x" * 4000}, {"description": "x" * 2001}]},
    ),
    "command name with capitals": (
        "PUT",
        "/applications/{application_id}/commands",
        [{"name": "Ask", "description": "d"}],
    ),
    "command name with a space": (
        "PUT",
        "/applications/{application_id}/commands",
        [{"name": "ask me", "description": "d"}],
    ),
    "chat-input command without description": (
        "PUT",
        "/applications/{application_id}/commands",
        [{"name": "ask", "description": ""}],
    ),
    "command over 4000 characters in total": (
        "PUT",
        "/applications/{application_id}/commands",
        [
            {
                "name": "ask",
                "description": "d",
                "options": [
                    {
                        "type": 3,
                        "name": "topic",
                        "description": "d",
                        "choices": [{"name": "n" * 100, "value": "v" * 100}] * 21,
                    }
                ],
            }
        ],
    ),
    "modal value longer than its field": (
        "POST",
        CALLBACK,
        {
            "type": 9,
            "data": {
                "custom_id": "m",
                "title": "t",
                "components": [
                    {
                        "type": 1,
                        "components": [
                            {
                                "type": 4,
                                "custom_id": "q",
                                "style": 1,
                                "label": "Question",
                                "max_length": 256,
                                "value": "x" * 257,
                            }
                        ],
                    }
                ],
            },
        },
    ),
    "modal field in a label, value longer than it": (
        "POST",
        CALLBACK,
        {
            "type": 9,
            "data": {
                "custom_id": "m",
                "title": "t",
                "components": [
                    {
                        "type": 18,
                        "label": "Question",
                        "component": {
                            "type": 4,
                            "custom_id": "q",
                            "style": 1,
                            "max_length": 10,
                            "value": "x" * 11,
                        },
                    }
                ],
            },
        },
    ),
    "six action rows": (
        "POST",
        MESSAGES,
        {
            "components": [
                {"type": 1, "components": [{"type": 2, "style": 1, "custom_id": f"b{i}"}]}
                for i in range(6)
            ]
        },
    ),
}


@pytest.fixture(scope="module")
def spec() -> SpecValidator:
    return SpecValidator.load(DEFAULT_SPEC)


@pytest.mark.parametrize("case", SPEC_CASES, ids=list(SPEC_CASES))
def test_spec_rejects(spec: SpecValidator, case: str) -> None:
    method, route, body = SPEC_CASES[case]
    template = route.split(" ", 1)[-1]
    assert spec.validate_request(method, template, body), f"spec accepted {case}"


@pytest.mark.parametrize("case", LIMIT_CASES, ids=list(LIMIT_CASES))
def test_spec_misses_documented_limit(spec: SpecValidator, case: str) -> None:
    method, route, body = LIMIT_CASES[case]
    template = route.split(" ", 1)[-1]
    assert spec.validate_request(method, template, body) == []  # the spec lets it through
    assert limit_violations(method, template, body), f"limit check missed {case}"


def test_spec_accepts_what_discord_accepts(spec: SpecValidator) -> None:
    body = {
        "content": "x" * 2000,
        "allowed_mentions": {"parse": [], "users": [123], "replied_user": False},
        "message_reference": {"message_id": 456, "channel_id": 789, "fail_if_not_exists": False},
        "embeds": [{"title": "x" * 256, "description": "y" * 4096}],
    }
    assert spec.validate_request("POST", "/channels/{channel_id}/messages", body) == []
    assert limit_violations("POST", "/channels/{channel_id}/messages", body) == []
    field = {"type": 4, "custom_id": "q", "style": 1, "max_length": 256, "value": "x" * 256}
    modal = {"custom_id": "m", "title": "t", "components": [{"type": 1, "components": [field]}]}
    assert limit_violations("POST", CALLBACK, {"type": 9, "data": modal}) == []
    command = [{"name": "ask", "description": "d", "default_member_permissions": "8"}]
    assert spec.validate_request("PUT", "/applications/{application_id}/commands", command) == []


def test_stand_in_validates_against_the_vendored_spec_by_default() -> None:
    assert DEFAULT_SPEC.is_relative_to(Path(__file__).resolve().parents[1] / "data")
    assert StandIn().spec is not None


def test_stand_in_without_spec_refuses_to_start(tmp_path: Path) -> None:
    """A missing spec is a broken checkout: fail loudly rather than stop validating."""
    with pytest.raises(FileNotFoundError, match="OpenAPI spec is missing"):
        StandIn(spec_path=tmp_path / "missing.json")


async def test_standins_get_their_own_free_ports() -> None:
    async with StandIn() as one, StandIn() as two:
        assert one.port != two.port and one.base_url.startswith("http://127.0.0.1:")
