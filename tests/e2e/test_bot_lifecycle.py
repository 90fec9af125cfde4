"""Starting and living: slash-command sync policy, and hot-reloading the knowledge file."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import open_test_store

from .conftest import QA, audit_channel, qa_settings, run_qa_bot
from .standin import StandIn

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(30)]

GLOBAL_COMMANDS = "/applications/{application_id}/commands"
GUILD_COMMANDS = "/applications/{application_id}/guilds/{guild_id}/commands"
SIGNED = "how many people signed the recommendations?"


def _command_requests(standin: StandIn) -> list[Any]:
    return [r for r in standin.requests if r.route.startswith("/applications/") and r.done]


def _shape(commands: list[dict[str, Any]]) -> dict[tuple[str, int], Any]:
    """Name and type of each command with its options' names, types and flags."""

    def options(node: dict[str, Any]) -> list[tuple[Any, ...]]:
        return [
            (o["name"], o["type"], bool(o.get("required")), bool(o.get("autocomplete")))
            for o in node.get("options") or []
        ]

    return {(c["name"], c.get("type", 1)): options(c) for c in commands}


async def test_commands_are_synced_once_and_match_the_declared_tree(
    standin: StandIn, tmp_path: Path
) -> None:
    settings = qa_settings(standin, tmp_path / "data")
    async with run_qa_bot(standin, settings) as qa:
        declared = [c.to_dict(qa.bot.tree) for c in qa.bot.tree.get_commands()]
        app_id = str(qa.bot.application_id)
    (put,) = _command_requests(standin)
    assert (put.method, put.route, put.params["application_id"]) == ("PUT", GLOBAL_COMMANDS, app_id)
    assert put.ok and put.json == declared
    shape = _shape(put.json)
    assert shape == _shape(declared)
    assert set(shape) >= {  # and whatever the moderation cog declares
        ("ask", 1),
        ("recommendation", 1),
        ("topics", 1),
        ("sources", 1),
        ("help", 1),
        ("Ask the bot", 3),
    }
    assert shape[("ask", 1)] == [("question", 3, True, True), ("private", 5, False, False)]
    assert shape[("recommendation", 1)] == [("number", 4, True, False)]
    ask = next(c for c in put.json if c["name"] == "ask")
    assert ask["options"][0]["max_length"] == 1000
    number = next(c for c in put.json if c["name"] == "recommendation")["options"][0]
    assert (number["min_value"], number["max_value"]) == (1, 7)

    # A restart with the same commands does not sync again (policy "auto").
    async with run_qa_bot(standin, settings) as qa:
        inter = await standin.dispatch_command("help")
        assert (await inter.callback()).ok
    assert _command_requests(standin) == [put]


async def test_sync_policy_always_syncs_on_every_start(standin: StandIn, tmp_path: Path) -> None:
    settings = qa_settings(standin, tmp_path / "data", sync_commands="always")
    for _ in range(2):
        async with run_qa_bot(standin, settings):
            pass
    puts = _command_requests(standin)
    assert [(r.method, r.route) for r in puts] == [("PUT", GLOBAL_COMMANDS)] * 2
    assert puts[0].json == puts[1].json


async def test_sync_policy_never_leaves_commands_alone(standin: StandIn, tmp_path: Path) -> None:
    settings = qa_settings(standin, tmp_path / "data", sync_commands="never")
    async with run_qa_bot(standin, settings) as qa:
        reply = await qa.ask(SIGNED)  # the bot still answers
        assert reply.json["embeds"]
    assert _command_requests(standin) == []


async def test_guild_id_syncs_to_that_guild_only(standin: StandIn, tmp_path: Path) -> None:
    settings = qa_settings(standin, tmp_path / "data", guild_id=standin.guild.id)
    async with run_qa_bot(standin, settings) as qa:
        (put,) = _command_requests(standin)
        assert (put.method, put.route) == ("PUT", GUILD_COMMANDS)
        assert put.params["guild_id"] == str(standin.guild.id)
        guild = qa.bot.get_guild(standin.guild.id)
        declared = [c.to_dict(qa.bot.tree) for c in qa.bot.tree.get_commands(guild=guild)]
        assert put.json == declared
        assert ("Ask the bot", 3) in _shape(put.json)
        # The guild command works.
        assert standin.registered_command("ask", guild_id=standin.guild.id)["guild_id"]
        inter = await standin.dispatch_command("ask", {"question": SIGNED})
        callback = await inter.callback()
        assert callback.json["data"]["embeds"][0]["title"].startswith("How many people")


# -- hot reload ------------------------------------------------------------------------------


async def _audit_post(qa: QA, after: int, timeout: float) -> str:  # noqa: ASYNC109
    req = await qa.standin.wait_for_request(
        lambda r: (
            r.method == "POST"
            and r.route == "/channels/{channel_id}/messages"
            and r.params["channel_id"] == str(qa.audit_channel.id)
        ),
        after=after,
        timeout=timeout,
    )
    assert req.ok and req.json["allowed_mentions"]["parse"] == []
    return req.json["content"]


async def test_hot_reload_serves_a_changed_file_without_a_restart(
    standin: StandIn,
    tmp_path: Path,
    tiny_doc: dict[str, Any],
    write_knowledge: Callable[[Any], Path],
) -> None:
    """With the production reload interval: a saved change is announced, then answered.

    How soon is the reload interval's job (1 s by default); the wait below only bounds a
    hang, generously, so a loaded machine is slower rather than failing.
    """
    path = write_knowledge(tiny_doc)
    audit = audit_channel(standin).id
    settings = qa_settings(standin, tmp_path / "data", knowledge_path=path, audit_channel=audit)
    async with run_qa_bot(standin, settings) as qa:
        first = await qa.ask(SIGNED)
        assert first.json["embeds"][0]["description"] == tiny_doc["entries"][0]["answer"]

        tiny_doc["entries"][0]["answer"] = "Updated: 166 people from 20 countries signed."
        mark = len(standin.requests)
        write_knowledge(tiny_doc)
        notice = await _audit_post(qa, mark, timeout=15.0)
        assert "Knowledge reloaded" in notice and "3 entries" in notice
        second = await qa.ask(SIGNED, author=standin.world.alice)
        assert second.json["embeds"][0]["description"] == tiny_doc["entries"][0]["answer"]


async def test_a_command_line_edit_is_announced_with_who_made_it(
    standin: StandIn, tmp_path: Path, tiny_doc: dict[str, Any], write_knowledge: Any
) -> None:
    """An edit saved by another process (``eln-bot kb``) names its author in the audit
    channel, not a bare "knowledge reloaded"; then it is answered."""
    path = write_knowledge(tiny_doc)
    audit = audit_channel(standin).id
    settings = qa_settings(standin, tmp_path / "data", knowledge_path=path, audit_channel=audit)
    async with run_qa_bot(standin, settings) as qa:
        elsewhere = open_test_store(path, tmp_path / "data")  # its own database connection
        mark = len(standin.requests)
        await asyncio.to_thread(
            elsewhere.alias, "signatories", "who put their names to the letter", "ops-alice"
        )
        notice = await _audit_post(qa, mark, timeout=15.0)
        assert notice.startswith("📝 ops-alice added phrasing 'who put their names to the letter'")
        assert "change #1, made outside Discord" in notice
        reply = await qa.ask("who put their names to the letter")
        assert reply.json["embeds"][0]["description"] == tiny_doc["entries"][0]["answer"]


async def test_hot_reload_keeps_the_last_good_knowledge_over_a_bad_file(
    standin: StandIn,
    tmp_path: Path,
    tiny_doc: dict[str, Any],
    write_knowledge: Callable[[Any], Path],
) -> None:
    path = write_knowledge(tiny_doc)
    audit = audit_channel(standin).id
    settings = qa_settings(
        standin, tmp_path / "data", knowledge_path=path, audit_channel=audit, reload_interval=0.1
    )
    good = tiny_doc["entries"][0]["answer"]
    async with run_qa_bot(standin, settings) as qa:
        broken = dict(tiny_doc, entries=[*tiny_doc["entries"], {"id": "Bad Id!", "answer": ""}])
        mark = len(standin.requests)
        write_knowledge(broken)
        problem = await _audit_post(qa, mark, timeout=2.0)
        assert "rejected" in problem and "still serving the last good version" in problem
        assert "invalid id" in problem
        reply = await qa.ask(SIGNED)
        assert reply.json["embeds"][0]["description"] == good

        mark = len(standin.requests)
        write_knowledge("entries: [unclosed")  # not even YAML
        assert "not valid YAML" in await _audit_post(qa, mark, timeout=2.0)
        reply = await qa.ask(SIGNED, author=standin.world.alice)
        assert reply.json["embeds"][0]["description"] == good
