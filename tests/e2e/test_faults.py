"""Fault injection: the production bot against a Discord that rate-limits, fails, refuses,
drops the gateway and answers too late, and keeps answering (and keeps every edit) anyway.

Every test ends with :func:`assert_alive`: the client is not closed and a fresh question
is answered. Waits are on what the stand-in records, never fixed sleeps; the only real time
spent is what discord.py waits by design (``retry_after`` for 429s, 1 + 2 x attempt s for
5xx), so the faults are kept to the fewest that show the behaviour.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.health import check_heartbeat
from tests.conftest import open_test_store

from .conftest import QA, audit_channel, qa_settings, run_qa_bot
from .standin import FakeMember, FakeUser, RecordedRequest, StandIn
from .standin.gateway import INTENT_MESSAGE_CONTENT
from .standin.interactions import FakeInteraction

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

SIGNED = "how many people signed the recommendations?"
SIGNED_TITLE = "How many people"
MESSAGES = "POST /channels/{channel_id}/messages"
CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"
FOLLOWUP = "POST /webhooks/{webhook_id}/{webhook_token}"
EVERY_ROUTE = re.compile(r"^/")
# Phrasings no entry answers until a moderator attaches them (checked in the tests).
ALIASES = {
    "signatories": "who put their john hancock on it",
    "nato-watch": "what does the walrus say about it",
    "open-skies-treaty": "tell me about the purple elephant plan",
    "inf-treaty": "the quokka question",
    "cfe-treaty": "zebra crossing rules for generals",
}


@pytest.fixture
async def qa(
    standin: StandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[QA]:
    """The production bot with an audit channel; fails the test if anything logged an ERROR."""
    settings = qa_settings(standin, tmp_path / "data", audit_channel=audit_channel(standin).id)
    async with run_qa_bot(standin, settings) as running:
        yield running
    records = [*caplog.get_records("setup"), *caplog.get_records("call"), *caplog.records]
    errors = [f"{r.name}: {r.getMessage()}" for r in records if r.levelno >= logging.ERROR]
    if errors:
        pytest.fail("logged errors under faults:\n  " + "\n  ".join(errors), pytrace=False)


# -- helpers ---------------------------------------------------------------------------------


def member(qa: QA, name: str = "member") -> FakeUser:
    """A new member of the default guild (fresh, so the bot's per-user limit never bites)."""
    world = qa.standin.world
    user = world.add_user(f"{name}{len(world.users)}")
    qa.standin.guild.members[user.id] = FakeMember(user)
    return user


def title(req: RecordedRequest) -> str:
    """The answer's title, in a message body or an interaction callback."""
    body = req.json["data"] if req.route.endswith("/callback") else req.json
    return body["embeds"][0]["title"]


async def assert_alive(qa: QA) -> None:
    """After the faults: still connected, and a new member's question is answered."""
    assert not qa.bot.is_closed() and qa.bot.is_ready()
    reply = await qa.ask(SIGNED, author=member(qa, "last"))
    assert reply.ok and title(reply).startswith(SIGNED_TITLE)


async def ok_callback(qa: QA, inter: FakeInteraction, timeout: float = 10) -> RecordedRequest:  # noqa: ASYNC109
    """The interaction's successful callback (earlier attempts may have been refused)."""
    return await qa.standin.wait_until(
        lambda: next(
            (r for r in inter.requests() if r.route.endswith("/callback") and r.done and r.ok),
            None,
        ),
        timeout,
        f"an accepted callback for interaction {inter.id}",
    )


def followups(inter: FakeInteraction) -> list[RecordedRequest]:
    return [r for r in inter.requests() if r.method == "POST" and r.route.startswith("/webhooks/")]


async def ok_followup(qa: QA, inter: FakeInteraction, timeout: float = 10) -> RecordedRequest:  # noqa: ASYNC109
    """The deferred command's delivered follow-up message."""
    return await qa.standin.wait_until(
        lambda: next((r for r in followups(inter) if r.done and r.ok), None),
        timeout,
        f"a delivered follow-up for interaction {inter.id}",
    )


def assert_retried(standin: StandIn, refused: list[RecordedRequest]) -> None:
    """Nothing lost: every refused request was later sent again, identically, and accepted."""
    assert refused
    for rec in refused:
        at = next(i for i, r in enumerate(standin.requests) if r is rec)
        later = standin.requests[at + 1 :]
        assert any(
            r.ok and (r.method, r.path, r.json) == (rec.method, rec.path, rec.json) for r in later
        ), f"{rec} was never delivered"


def alias_count(document: dict[str, Any], entry_id: str, phrase: str) -> int:
    (entry,) = [e for e in document["entries"] if e["id"] == entry_id]
    return list(entry.get("alternates") or []).count(phrase)


async def kb_alias(qa: QA, entry: str, phrase: str) -> FakeInteraction:
    options = {"entry": entry, "phrase": phrase}
    return await qa.standin.dispatch_command("kb alias", options, user=qa.standin.world.carol)


# -- 1. 429 everywhere -----------------------------------------------------------------------


@pytest.mark.parametrize("global_", [False, True], ids=["route", "global"])
async def test_429_on_every_route_delays_but_loses_nothing(qa: QA, global_: bool) -> None:
    standin, world = qa.standin, qa.standin.world
    phrase = ALIASES["signatories"]
    assert qa.service.match(phrase).entry is None
    # The next 8 requests, whatever the route: each request in flight is refused two or
    # three times (discord.py gives up after five).
    fault = standin.inject(EVERY_ROUTE, status=429, retry_after=0.2, global_=global_, times=8)
    question = await qa.say(SIGNED, author=member(qa))
    asked = await standin.dispatch_command("ask", {"question": SIGNED}, user=world.alice)
    alias = await kb_alias(qa, "signatories", phrase)

    reply = await qa.reply_to(question, timeout=10)
    callback = await ok_callback(qa, asked)
    done = await ok_followup(qa, alias)
    assert fault.exhausted
    limited = [r for r in standin.requests if r.fault is fault]
    assert len(limited) == 8 and {r.status for r in limited} == {429}
    assert_retried(standin, limited)
    first = min(r.completed_at for r in limited if r.completed_at)
    assert reply.received_at - first >= 0.19  # waited at least one retry_after

    # Exactly one answer to each: one delivered reply, one accepted callback, one "Done:".
    assert [r.ok for r in qa.replies_to(question)].count(True) == 1
    assert title(reply).startswith(SIGNED_TITLE)
    callbacks = [r for r in asked.requests() if r.route.endswith("/callback")]
    assert [r.ok for r in callbacks].count(True) == 1
    assert title(callback).startswith(SIGNED_TITLE)
    assert done.json["content"].startswith("Done:")
    assert [r.ok for r in followups(alias)].count(True) == 1
    (change,) = qa.service.store.history()
    assert (change.op, change.entry) == ("alias", "signatories")
    assert alias_count(qa.service.store.merged_document(), "signatories", phrase) == 1
    answered = await qa.ask(phrase, author=member(qa))
    assert title(answered).startswith(SIGNED_TITLE)
    await assert_alive(qa)


# -- 2. 5xx bursts ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("status", [500, 502])
async def test_server_error_bursts_on_sends_and_interaction_responses(qa: QA, status: int) -> None:
    standin, world = qa.standin, qa.standin.world
    general, answers = standin.channel, qa.answer_channel
    # A burst of two on one reply (1 s + 3 s of discord.py back-off), one on another, one on
    # each callback (a second would push it past Discord's 3 s deadline), one on a follow-up.
    burst = standin.inject(f"POST /channels/{general.id}/messages", status=status, times=2)
    single = standin.inject(f"POST /channels/{answers.id}/messages", status=status, times=1)
    callbacks = standin.inject(CALLBACK, status=status, times=2)
    follow = standin.inject(FOLLOWUP, status=status, times=1)

    in_general = await qa.say(SIGNED, channel=general, author=member(qa))
    in_answers = await qa.say(SIGNED, channel=answers, author=member(qa))
    asked = await standin.dispatch_command("ask", {"question": SIGNED}, user=world.alice)
    alias = await kb_alias(qa, "nato-watch", ALIASES["nato-watch"])

    for question in (in_general, in_answers):
        reply = await qa.reply_to(question, timeout=15)
        assert title(reply).startswith(SIGNED_TITLE)
        assert [r.ok for r in qa.replies_to(question)].count(True) == 1
    assert title(await ok_callback(qa, asked)).startswith(SIGNED_TITLE)
    assert (await ok_followup(qa, alias)).json["content"].startswith("Done:")
    assert [f.hits for f in (burst, single, callbacks, follow)] == [2, 1, 2, 1]
    failed = [r for r in standin.requests if r.fault is not None]
    assert {r.status for r in failed} == {status}
    assert_retried(standin, failed)
    assert [r.status for r in qa.replies_to(in_general)] == [status, status, 200]
    (change,) = qa.service.store.history()
    assert change.entry == "nato-watch"
    await assert_alive(qa)


# -- 3. 403 in one channel -------------------------------------------------------------------


async def test_forbidden_channel_warns_every_time_and_recovers(
    qa: QA, caplog: pytest.LogCaptureFixture
) -> None:
    standin, world = qa.standin, qa.standin.world
    general = standin.channel
    caplog.set_level(logging.WARNING)
    forbidden = standin.inject_forbidden(f"POST /channels/{general.id}/messages", times=None)

    refused = []
    for _ in range(3):
        question = await qa.say(SIGNED, channel=general, author=member(qa))
        assert (await qa.reply_to(question, ok=False)).status == 403
        refused.append(question)
        # ... while the bot keeps answering in the other channel and in DMs.
        elsewhere = await qa.ask(SIGNED, channel=qa.answer_channel, author=member(qa))
        assert title(elsewhere).startswith(SIGNED_TITLE)
    dm = await standin.dispatch_dm(SIGNED, author=world.alice)
    assert title(await qa.reply_to(dm)).startswith(SIGNED_TITLE)
    # Interaction responses need no Send Messages: /ask still works in the same channel.
    asked = await standin.dispatch_command("ask", {"question": SIGNED}, channel_id=general)
    assert title(await ok_callback(qa, asked)).startswith(SIGNED_TITLE)

    standin.faults.remove(forbidden)  # the permission is granted again
    after = await qa.ask(SIGNED, channel=general, author=member(qa))
    assert after.ok and title(after).startswith(SIGNED_TITLE)

    assert forbidden.hits == 3
    assert all(len(qa.replies_to(q)) == 1 for q in refused)  # a 403 is not retried
    ours = [r for r in caplog.records if r.name.startswith("bot.")]
    assert [r.levelno for r in ours] == [logging.WARNING] * 3
    assert all("permission" in r.getMessage() and str(general.id) in r.getMessage() for r in ours)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    await assert_alive(qa)


# -- 4. gateway closes and invalid sessions ----------------------------------------------------

GatewayFault = Callable[[StandIn], Awaitable[int]]
GATEWAY_FAULTS: list[tuple[str, GatewayFault, bool]] = [
    ("close-1006", lambda s: s.drop_connection(1006), True),
    ("close-4000", lambda s: s.drop_connection(4000), True),
    ("close-4009", lambda s: s.drop_connection(4009), False),
    ("invalid-resumable", lambda s: s.invalidate_session(resumable=True), True),
    ("invalid-session", lambda s: s.invalidate_session(resumable=False), False),
]


@pytest.mark.parametrize(
    ("fault", "resumes"),
    [(f, r) for _, f, r in GATEWAY_FAULTS],
    ids=[name for name, _, _ in GATEWAY_FAULTS],
)
async def test_gateway_fault_reconnects_and_health_follows(
    qa: QA, fault: GatewayFault, resumes: bool
) -> None:
    standin, bot = qa.standin, qa.bot
    path = qa.settings.heartbeat_path
    (session,) = await standin.wait_for_sessions()
    # What `eln-bot health` would say at each gateway event: force a heartbeat write and
    # check it, from a listener that runs right after the bot's own handler.
    seen: list[tuple[str, str, bool, str]] = []

    def snapshot(event: str) -> Callable[..., Awaitable[None]]:
        async def listener(*_: Any) -> None:
            bot.heartbeat.write()
            healthy, reason = check_heartbeat(path, max_age=60)
            seen.append((event, bot.gateway.state, healthy, reason))

        return listener

    for event in ("on_disconnect", "on_resumed", "on_ready"):
        bot.add_listener(snapshot(event), event)
    frames = len(standin.gateway.frames)

    assert await fault(standin) == 1
    # Dispatched while the bot is away (or, after op 9, on a socket it is abandoning):
    # Discord replays it on RESUME; after a re-IDENTIFY it is gone, as on Discord.
    missed = await qa.say(SIGNED, author=member(qa)) if resumes else None
    back = "on_resumed" if resumes else "on_ready"
    await standin.wait_until(lambda: any(s[0] == back for s in seen), 10, back)

    assert seen[0][:3] == ("on_disconnect", "reconnecting", False), seen
    assert "unhealthy: gateway reconnecting" in seen[0][3]
    assert all(s[:3] == ("on_disconnect", "reconnecting", False) for s in seen[:-1]), seen
    assert seen[-1][:3] == (back, "connected", True), seen
    assert bot.is_ready() and not bot.is_closed()
    bot.heartbeat.write()
    healthy, reason = check_heartbeat(path, max_age=60)
    assert healthy and reason.startswith("healthy: gateway connected"), reason

    identifies = [f for f in standin.gateway.frames[frames:] if f.op == 2]
    if resumes:
        assert session.resumes == 1 and len(standin.gateway.sessions) == 1 and not identifies
        assert missed is not None
        assert title(await qa.reply_to(missed)).startswith(SIGNED_TITLE)
    else:
        assert len(identifies) == 1 and len(standin.gateway.sessions) == 2
        assert standin.sessions[0].live and standin.sessions[0] is not session
    await assert_alive(qa)  # asked in the same channel, so it also flushes any duplicate
    if missed is not None:
        assert len(qa.replies_to(missed)) == 1  # replayed once, answered once


# -- 5. answering after Discord's deadline --------------------------------------------------


@pytest.mark.spec_violations_expected  # the late callback itself; checked precisely below
@pytest.mark.parametrize(
    ("command", "options"),
    [("ask", {"question": SIGNED}), ("kb alias", {"entry": "signatories", "phrase": "x y z"})],
    ids=["ask", "kb-alias-defer"],
)
async def test_interaction_answered_after_the_deadline_is_a_warning(
    qa: QA, caplog: pytest.LogCaptureFixture, command: str, options: dict[str, Any]
) -> None:
    standin = qa.standin
    caplog.set_level(logging.WARNING)
    standin.interaction_deadline = 0.5  # Discord's is 3 s; the test need not wait that long
    slow = standin.inject_delay(CALLBACK, 0.8)
    late = await standin.dispatch_command(command, options, user=standin.world.carol)

    expired = await late.callback()
    assert slow.hits == 1 and expired.status == 404 and expired.response["code"] == 10062

    def warned() -> logging.LogRecord | None:
        return next(
            (
                r
                for r in caplog.records
                if r.name == "bot.discord.bot" and "expired" in r.getMessage()
            ),
            None,
        )

    record = await standin.wait_until(warned, 5, "a warning about the expired interaction")
    assert record.levelno == logging.WARNING and f"/{command}" in record.getMessage()
    standin.interaction_deadline = 3.0
    on_time = await standin.dispatch_command("ask", {"question": SIGNED}, user=standin.world.bob)
    assert title(await ok_callback(qa, on_time)).startswith(SIGNED_TITLE)

    # One late attempt, no second "something went wrong" callback or follow-up after it.
    assert [r.status for r in late.requests()] == [404]
    assert [(r.path, v.code) for r, v in standin.violations] == [(expired.path, "10062")]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert qa.service.store.history() == []  # an unacknowledged edit was not made
    await assert_alive(qa)


# -- 6. moderator edits under faults --------------------------------------------------------


async def test_no_moderator_edit_is_lost_under_faults(qa: QA) -> None:
    standin = qa.standin
    for phrase in ALIASES.values():
        assert qa.service.match(phrase).entry is None
    faults = [
        standin.inject(CALLBACK, status=429, retry_after=0.2, times=3),
        standin.inject(CALLBACK, status=500, times=1),
        standin.inject(FOLLOWUP, status=500, times=2),
        standin.inject(FOLLOWUP, status=429, retry_after=0.2, global_=True, times=2),
    ]
    commands = {entry: await kb_alias(qa, entry, phrase) for entry, phrase in ALIASES.items()}
    done = {entry: await ok_followup(qa, inter) for entry, inter in commands.items()}
    assert all(f.exhausted for f in faults)
    assert_retried(standin, [r for r in standin.requests if r.fault is not None])

    changes = {c.id: c for c in qa.service.store.history(limit=100)}
    assert sorted(c.entry for c in changes.values()) == sorted(ALIASES)
    on_disk = open_test_store(qa.settings.knowledge_path, qa.settings.data_dir)
    disk_changes = {c.id: c for c in on_disk.history(limit=100)}
    merged, disk_merged = qa.service.store.merged_document(), on_disk.merged_document()
    for entry, phrase in ALIASES.items():
        text = done[entry].json["content"]
        assert text.startswith("Done:") and phrase in text
        sent = followups(commands[entry])  # exactly one delivered "Done:" per command
        assert [r.ok for r in sent].count(True) == 1 and all(r.ok or r.fault for r in sent)
        number = int(re.search(r"change #(\d+)", text).group(1))  # type: ignore[union-attr]
        assert changes[number].entry == entry and disk_changes[number].entry == entry
        assert alias_count(merged, entry, phrase) == 1
        assert alias_count(disk_merged, entry, phrase) == 1
        expected = qa.service.snapshot.knowledge.get(entry)
        assert expected is not None and expected.alternates.count(phrase) == 1
        reply = await qa.ask(phrase, author=member(qa))
        assert title(reply) == expected.question
    await assert_alive(qa)


# -- 7. privileged intent refused -----------------------------------------------------------


async def test_refused_message_content_intent_exits_with_code_3(
    standin: StandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.discord.bot import build_services, create_bot, intents_for, serve  # noqa: PLC0415

    standin.privileged_intents = 0  # Message Content Intent off in the Developer Portal
    settings = qa_settings(standin, tmp_path / "data")
    assert settings.answer_channels and intents_for(settings).message_content
    bot = create_bot(settings, build_services(settings), guild_ready_timeout=0.05)
    caplog.set_level(logging.WARNING)
    loop = asyncio.get_running_loop()
    try:
        code = await asyncio.wait_for(serve(bot, settings.token or ""), 20)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # serve installed them on this loop
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)
    assert code == 3 and bot.is_closed()
    (identify,) = [f for f in standin.gateway.frames if f.op == 2]
    assert identify.d["intents"] & INTENT_MESSAGE_CONTENT
    assert standin.gateway.sessions == []  # closed with 4014 instead of READY
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.name for r in errors] == ["bot.discord.bot"]
    assert "Message Content Intent" in errors[0].getMessage()

    # The remedy the log line names: without answer channels the bot asks for no privileged
    # intent, connects to the same Discord and answers mentions.
    settings = qa_settings(standin, tmp_path / "data", answer_channels=frozenset())
    async with run_qa_bot(standin, settings) as qa:
        await assert_alive(qa)
