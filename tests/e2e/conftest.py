"""Fixtures for end-to-end tests: the Discord stand-in and a running bot.

    async def test_x(standin):
        bot = MyBot(intents=..., guild_ready_timeout=0.05)
        async with running_bot(bot, standin):
            await standin.dispatch_message(content="hi")
            req = await standin.wait_for_request("POST /channels/{channel_id}/messages")

At teardown ``standin`` fails the test if any request broke Discord's OpenAPI schema, a
documented limit, or the interaction protocol, unless the test is marked
``@pytest.mark.spec_violations_expected`` (or calls ``standin.expect_violations()``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord
import pytest
import yaml

from bot.discord.endpoints import DEFAULT_API_BASE, use_api_base

from .standin import FakeChannel, FakeMember, FakeUser, RecordedRequest, StandIn

if TYPE_CHECKING:  # the bot is imported lazily: the stand-in's own tests must not need it
    from bot.config import Settings
    from bot.core.matching import Thresholds
    from bot.core.service import KnowledgeService
    from bot.discord.client import QABot
    from bot.storage.usage import Insights

# Short enough that heartbeats and ACKs happen inside a test, long enough not to spam.
TEST_HEARTBEAT_MS = 500


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "spec_violations_expected: the test provokes requests Discord would reject",
    )
    config.addinivalue_line(
        "markers", "qa(**overrides): Settings overrides (and thresholds=) for the qa fixture"
    )


@pytest.fixture
async def standin(request: pytest.FixtureRequest) -> AsyncIterator[StandIn]:
    server = StandIn(heartbeat_interval=TEST_HEARTBEAT_MS)
    await server.start()
    use_api_base(server.base_url)
    try:
        yield server
    finally:
        use_api_base(DEFAULT_API_BASE)
        await server.stop()
    leaked = await _leaked_tasks()
    expected = server.violations_expected or request.node.get_closest_marker(
        "spec_violations_expected"
    )
    problems = [] if expected else [f"{rec}: {v}" for rec, v in server.violations]
    problems += [f"stand-in answered off-spec: {rec}: {v}" for rec, v in server.response_violations]
    problems += [f"task still running after the test: {t!r}" for t in leaked]
    for rec in server.unknown_routes:
        warnings.warn(f"stand-in has no handler for {rec.method} {rec.path}", stacklevel=1)
    if problems:
        pytest.fail("e2e problems:\n  " + "\n  ".join(problems), pytrace=False)


async def _leaked_tasks(grace: float = 1.0) -> list[asyncio.Task[object]]:
    """Tasks the test left behind; they get ``grace`` seconds to end, then are cancelled."""
    current = asyncio.current_task()
    pending = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    if not pending:
        return []
    await asyncio.wait(pending, timeout=grace)
    leaked = [t for t in pending if not t.done()]
    for task in leaked:
        task.cancel()
    await asyncio.gather(*leaked, return_exceptions=True)
    return leaked


async def _no_identify_delay(shard_id: int | None, *, initial: bool = False) -> None:
    """discord.py sleeps 5 s before every non-initial IDENTIFY; the stand-in has no limit."""


@contextlib.asynccontextmanager
async def running_bot(
    bot: discord.Client,
    standin: StandIn,
    token: str = "test-token",
    *,
    ready_timeout: float = 10.0,
    fast_identify: bool = True,
) -> AsyncIterator[discord.Client]:
    """Run ``bot.start(token)`` against the stand-in until the block ends, then close it.

    ``fast_identify`` replaces ``before_identify_hook`` (its documented extension point)
    so re-IDENTIFY and extra shards don't wait 5 s each.
    """
    assert discord.http.Route.BASE.startswith(standin.base_url), "use the standin fixture"
    if fast_identify:
        bot.before_identify_hook = _no_identify_delay  # type: ignore[method-assign]
    task = asyncio.create_task(bot.start(token), name="running_bot:start")
    try:
        try:
            async with asyncio.timeout(ready_timeout):
                await _wait_ready(bot, task)
        except TimeoutError:
            raise TimeoutError(f"bot not ready after {ready_timeout}s") from None
        yield bot
    finally:
        await bot.close()
        done, _ = await asyncio.wait({task}, timeout=5.0)
        if not done:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        elif not task.cancelled():
            task.exception()  # retrieved here so a failing test is not masked
    if not done or task.cancelled():
        raise TimeoutError("bot.start() did not return within 5 s of bot.close()")
    if task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


async def _wait_ready(bot: discord.Client, task: asyncio.Task[None]) -> None:
    while not bot.is_ready():
        if task.done():
            task.result()  # re-raise why the bot stopped
            raise RuntimeError("bot.start() returned before the bot was ready")
        await asyncio.sleep(0.01)
    await bot.wait_until_ready()


# -- the real eln-qa-bot ---------------------------------------------------------------------
# Built by ``create_bot`` exactly as production does; only the API base points at the
# stand-in, and ``guild_ready_timeout`` is short so READY does not wait for stragglers.

MESSAGES = "POST /channels/{channel_id}/messages"
SHIPPED_KNOWLEDGE = Path(__file__).resolve().parents[2] / "knowledge" / "faq.yaml"
EPHEMERAL = 1 << 6


@dataclasses.dataclass
class QA:
    """A running production bot and the stand-in it talks to, with asking helpers."""

    standin: StandIn
    bot: QABot
    settings: Settings

    @property
    def service(self) -> KnowledgeService:
        return self.bot.service

    @property
    def knowledge(self) -> Any:
        """The knowledge being served right now."""
        return self.bot.service.snapshot.knowledge

    @property
    def insights(self) -> Insights:
        return self.bot.insights

    @property
    def answer_channel(self) -> FakeChannel:
        return self.standin.guild.channel("bot-qa")

    @property
    def audit_channel(self) -> FakeChannel:
        return self.standin.guild.channel("bot-audit")

    def mention(self, text: str) -> str:
        return f"{self.standin.bot_user.mention} {text}"

    async def say(
        self,
        text: str,
        *,
        channel: FakeChannel | int | None = None,
        author: FakeUser | str | None = None,
        mention: bool = True,
    ) -> dict[str, Any]:
        """A user's message (a mention of the bot unless ``mention=False``)."""
        content = self.mention(text) if mention else text
        return await self.standin.dispatch_message(channel, content, author=author)

    def replies_to(self, message: dict[str, Any]) -> list[RecordedRequest]:
        """Every reply POST (done or still in flight) referencing ``message``."""
        return [
            r
            for r in self.standin.requests
            if r.route == "/channels/{channel_id}/messages"
            and r.method == "POST"
            and isinstance(r.json, dict)
            and str((r.json.get("message_reference") or {}).get("message_id")) == message["id"]
        ]

    async def reply_to(
        self,
        message: dict[str, Any],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 (mirrors asyncio.wait_for)
        ok: bool = True,
    ) -> RecordedRequest:
        """The bot's completed (and, with ``ok``, successful) reply to ``message``."""

        def found() -> RecordedRequest | None:
            return next((r for r in self.replies_to(message) if r.done and (r.ok or not ok)), None)

        return await self.standin.wait_until(found, timeout, f"a reply to {message['content']!r}")

    async def followup(self, inter: Any) -> RecordedRequest:
        """The follow-up message a deferred command sent with this interaction's token."""
        return await self.standin.wait_for_request(
            lambda r: (
                r.method == "POST"
                and r.route == "/webhooks/{webhook_id}/{webhook_token}"
                and r.params.get("webhook_token") == inter.token
            ),
            timeout=10,
        )

    async def ask(self, text: str, **kwargs: Any) -> RecordedRequest:
        """Say ``text`` and return the bot's reply."""
        return await self.reply_to(await self.say(text, **kwargs))

    async def assert_no_reply(self, *messages: dict[str, Any]) -> None:
        """Prove silence without sleeping: a later question in the same channel gets its
        reply, and by then nothing referencing ``messages`` reached the stand-in.

        The bot handles gateway events in order, so a reply to an earlier message would
        already be on the wire (the sentinel asks as a fresh user, dodging user limits).
        """
        channel = self.standin.world.find_channel(int(messages[-1]["channel_id"]))
        assert channel is not None
        sentinel = self.standin.world.add_user(f"sentinel{len(self.standin.world.users)}")
        if channel.guild_id is not None:
            guild = self.standin.world.guilds[channel.guild_id]
            guild.members[sentinel.id] = FakeMember(sentinel)
        probe = await self.say(SENTINEL_QUESTION, channel=channel, author=sentinel)
        await self.reply_to(probe)
        for message in messages:
            assert self.replies_to(message) == [], f"unexpected reply to {message['content']!r}"


SENTINEL_QUESTION = "how many people signed the recommendations?"


def audit_channel(standin: StandIn) -> FakeChannel:
    """#bot-audit in the default guild (added on first use), for ``audit_channel=``."""
    guild = standin.guild
    if not any(c.name == "bot-audit" for c in guild.channels):
        channel = FakeChannel(standin.world.ids.next(), "bot-audit", 0, guild.id)
        channel.position = len(guild.channels)
        guild.channels.append(channel)
    return guild.channel("bot-audit")


def qa_settings(standin: StandIn, data_dir: Path, **overrides: Any) -> Settings:
    """Production defaults, the stand-in as API base, #bot-qa as the answer channel."""
    from bot.config import Settings  # noqa: PLC0415 - see TYPE_CHECKING above

    guild = standin.guild
    audit_channel(standin)
    values: dict[str, Any] = {
        "token": "test-token",
        "api_base": standin.base_url,
        "knowledge_path": SHIPPED_KNOWLEDGE,
        "data_dir": data_dir,
        "answer_channels": frozenset({guild.channel("bot-qa").id}),
        # a single-server operator: its moderators edit what every place is served
        "home_guild": guild.id,
    }
    values.update(overrides)
    return Settings(**values)


@contextlib.asynccontextmanager
async def run_qa_bot(
    standin: StandIn,
    settings: Settings,
    *,
    thresholds: Thresholds | None = None,
    ready_timeout: float = 10.0,
) -> AsyncIterator[QA]:
    """Build services and the bot as ``run_bot`` does, and run it against the stand-in."""
    from bot.discord.bot import build_services, create_bot  # noqa: PLC0415

    use_api_base(settings.api_base)
    services = build_services(settings, thresholds=thresholds)
    bot = create_bot(settings, services, guild_ready_timeout=0.05)
    async with running_bot(bot, standin, settings.token or "", ready_timeout=ready_timeout):
        yield QA(standin, bot, settings)


@pytest.fixture
async def qa(
    standin: StandIn,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> AsyncIterator[QA]:
    """The running production bot; ``@pytest.mark.qa(**settings, thresholds=...)`` varies it.

    ``knowledge=`` may be a path or a document (written to ``tmp_path/faq.yaml``). The test
    fails if the bot or discord.py logged an error while it ran.
    """
    marker = request.node.get_closest_marker("qa")
    overrides = dict(marker.kwargs) if marker else {}
    thresholds = overrides.pop("thresholds", None)
    knowledge = overrides.pop("knowledge", None)
    if isinstance(knowledge, dict):
        overrides["knowledge_path"] = write_yaml(tmp_path / "faq.yaml", knowledge)
    elif knowledge is not None:
        overrides["knowledge_path"] = knowledge
    settings = qa_settings(standin, tmp_path / "data", **overrides)
    async with run_qa_bot(standin, settings, thresholds=thresholds) as running:
        yield running
    records = [*caplog.get_records("setup"), *caplog.get_records("call"), *caplog.records]
    errors = [r for r in records if r.levelno >= logging.ERROR]
    if errors:
        lines = [f"{r.name}: {r.getMessage()}" for r in errors]
        pytest.fail("the bot logged errors:\n  " + "\n  ".join(lines), pytrace=False)


def write_yaml(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), "utf-8")
    return path


# -- reading what the bot put on the wire ----------------------------------------------------


def buttons(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every component inside the action rows of a message body, in order."""
    return [c for row in body.get("components") or [] for c in row.get("components") or []]


def custom_ids(body: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for c in buttons(body) if "custom_id" in c]


def assert_answer(
    body: dict[str, Any],
    entry: Any,
    asker: int,
    *,
    knowledge: Any,
    dismiss: bool = False,
    confidence: bool = True,
) -> dict[str, Any]:
    """One answer embed for ``entry``: title, sources, footer, no pings, and its buttons."""
    (embed,) = body["embeds"]
    assert embed["title"] == entry.question[:256]
    assert embed["description"]
    (sources,) = [f for f in embed["fields"] if f["name"] == "Sources"]
    assert "](http" in sources["value"]
    assert sources["value"].startswith("[")
    footer = embed["footer"]["text"]
    assert f"entry: {entry.id}" in footer
    assert footer.startswith("Confidence ") == confidence, footer
    mentions = body["allowed_mentions"]
    assert mentions["parse"] == [] and not mentions.get("replied_user")
    assert not mentions.get("users") and not mentions.get("roles")
    related = [r for r in entry.related if knowledge.get(r) is not None][:4]
    expected = [f"eln:a:{r}:{asker}" for r in related]
    expected += [f"eln:s:{entry.id}", f"eln:v:{entry.id}:1", f"eln:v:{entry.id}:0"]
    if dismiss:
        expected.append(f"eln:d:{asker}")
    assert custom_ids(body) == expected
    labels = {c["custom_id"]: c for c in buttons(body)}
    assert labels[f"eln:s:{entry.id}"]["label"] == "Show source"
    assert labels[f"eln:v:{entry.id}:1"]["emoji"]["name"] == "👍"
    assert labels[f"eln:v:{entry.id}:0"]["emoji"]["name"] == "👎"
    return embed


# Words and frames for finding, in whatever knowledge is shipped today, a question with a
# wanted property (unsure, between the two thresholds, ...): the knowledge is curated
# continuously, so tests search instead of hard-coding scores.
PROBE_WORDS = (
    "russia", "nato", "treaty", "report", "missiles", "dialogue", "skies", "china",
    "europe", "forces", "incidents", "brief", "experts", "signed", "actions", "founding",
    "council", "vienna", "measures", "risk", "weapons", "military", "arms control",
    "the group", "channels", "sea", "watch", "2030", "rules", "deterrence",
)  # fmt: skip
PROBE_FRAMES = (
    "what about {}?", "tell me about {}?", "why {}?", "is {} important?",
    "what does it say on {}?", "does the {} matter?", "any news on {}?", "{} question?",
)  # fmt: skip


def find_question(service: Any, wanted: Any, what: str) -> str:
    """The first probe question whose match satisfies ``wanted(match_loose, match_strict)``."""
    for word in PROBE_WORDS:
        for frame in PROBE_FRAMES:
            question = frame.format(word)
            if wanted(service.match(question), service.match(question, strict=True)):
                return question
    raise AssertionError(f"no probe question is {what} in this knowledge; extend PROBE_WORDS")
