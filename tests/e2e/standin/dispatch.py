"""Test-side helpers that make the fake Discord send gateway events to the bot.

Mixed into :class:`~.server.StandIn`; every helper returns what it sent (a message
payload or a :class:`~.interactions.FakeInteraction`) so tests can await the answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import interactions as ix
from .gateway import (
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MESSAGES,
    INTENT_MESSAGE_CONTENT,
    Gateway,
    GatewaySession,
)
from .messages import MessageStore, pinged_users
from .world import FakeChannel, FakeUser, World


class DispatchMixin:
    """Gateway dispatch helpers: messages, DMs and every interaction type."""

    if TYPE_CHECKING:
        world: World
        gateway: Gateway
        messages: MessageStore
        interactions: dict[int, ix.FakeInteraction]
        commands: dict[str | None, dict[str, dict[str, Any]]]

        @property
        def channel(self) -> FakeChannel: ...

    async def dispatch(
        self, event: str, data: Any, *, guild_id: int | None = None, shard_id: int | None = None
    ) -> int:
        """Send a raw dispatch to the session owning ``guild_id`` (shard 0 by default)."""
        session = self.gateway.session_for(guild_id=guild_id, shard_id=shard_id)
        return await self.gateway.dispatch(event, data, session)

    async def dispatch_message(
        self,
        channel_id: int | FakeChannel | None = None,
        content: str = "",
        *,
        author: FakeUser | int | str | None = None,
        guild_id: int | None = None,
        mentions: list[FakeUser | int | str] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """MESSAGE_CREATE from a user (default: bob in #general). Returns the message.

        ``mentions=None`` derives mentions from ``<@id>`` in ``content``. Without the
        MESSAGE_CONTENT intent the bot receives empty content unless it is mentioned.
        """
        channel = self._resolve_channel(channel_id)
        user = self.world.user(author if author is not None else self.world.bob)
        if mentions is None:
            mentioned = pinged_users(content, None, self.world.users)
        else:
            mentioned = [self.world.user(m) for m in mentions]
        msg = self.world.message_payload(
            channel=channel, author=user, content=content, mentions=mentioned, extra=extra or None
        )
        if guild_id is not None:
            msg["guild_id"] = str(guild_id)
        self.messages.add(msg)
        gid = int(msg["guild_id"]) if "guild_id" in msg else None
        session = self.gateway.session_for(guild_id=gid)
        intent = INTENT_GUILD_MESSAGES if gid is not None else INTENT_DIRECT_MESSAGES
        if session.has_intent(intent):
            await self.gateway.dispatch("MESSAGE_CREATE", self._as_seen(msg, session), session)
        return msg

    async def dispatch_dm(
        self, content: str, *, author: FakeUser | int | str | None = None, **extra: Any
    ) -> dict[str, Any]:
        """MESSAGE_CREATE in the author's DM channel with the bot (no guild_id)."""
        user = self.world.user(author if author is not None else self.world.bob)
        return await self.dispatch_message(
            self.world.dm_channel(user), content, author=user, **extra
        )

    def _as_seen(self, msg: dict[str, Any], session: GatewaySession) -> dict[str, Any]:
        """What a session receives: content is withheld without the MESSAGE_CONTENT intent."""
        if session.has_intent(INTENT_MESSAGE_CONTENT) or "guild_id" not in msg:
            return msg
        bot_id = str(self.world.bot.id)
        if msg["author"]["id"] == bot_id or any(m["id"] == bot_id for m in msg["mentions"]):
            return msg
        return {**msg, "content": "", "embeds": [], "attachments": [], "components": []}

    def _resolve_channel(self, channel: int | FakeChannel | None) -> FakeChannel:
        if channel is None:
            return self.channel
        if isinstance(channel, FakeChannel):
            return channel
        found = self.world.find_channel(int(channel))
        if found is None:
            raise KeyError(f"unknown channel {channel}")
        return found

    def registered_command(
        self, name: str, *, guild_id: int | None = None, ctype: int = 1
    ) -> dict[str, Any] | None:
        """A command the bot synced (guild scope first, then global)."""
        for scope in ([str(guild_id)] if guild_id else []) + [None]:
            cmd = self.commands.get(scope, {}).get(f"{ctype}:{name}")
            if cmd is not None:
                return cmd
        return None

    async def dispatch_interaction(
        self,
        itype: int,
        data: dict[str, Any] | None,
        *,
        user: FakeUser | int | str | None = None,
        channel_id: int | FakeChannel | None = None,
        message: dict[str, Any] | None = None,
        locale: str = "en-US",
        parent: ix.FakeInteraction | None = None,
    ) -> ix.FakeInteraction:
        """INTERACTION_CREATE with a complete payload; returns the interaction record."""
        channel = self._resolve_channel(channel_id)
        who = self.world.user(user if user is not None else self.world.bob)
        iid, token = self.world.ids.next(), ix.new_token()
        payload = ix.interaction_payload(
            self.world,
            itype=itype,
            data=data,
            user=who,
            channel=channel,
            interaction_id=iid,
            token=token,
            message=message,
            locale=locale,
        )
        guild = self.world.guilds.get(channel.guild_id) if channel.guild_id else None
        inter = ix.FakeInteraction(iid, token, itype, payload, channel, guild, who, self)
        inter.parent = parent
        if message is not None:
            inter.message_id = int(message["id"])
        self.interactions[iid] = inter
        await self.dispatch("INTERACTION_CREATE", payload, guild_id=channel.guild_id)
        return inter

    def _command_data(
        self,
        name: str,
        options: dict[str, Any] | list[dict[str, Any]] | None,
        channel: FakeChannel,
        focused: str | None = None,
    ) -> dict[str, Any]:
        root = name.split(maxsplit=1)[0]
        command = self.registered_command(root, guild_id=channel.guild_id)
        guild = self.world.guilds.get(channel.guild_id) if channel.guild_id else None
        resolved = ix.Resolved(self.world, guild)
        cid = int(command["id"]) if command else self.world.ids.next()
        return ix.command_data(command, name, options, resolved, command_id=cid, focused=focused)

    async def dispatch_command(
        self,
        name: str,
        options: dict[str, Any] | list[dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> ix.FakeInteraction:
        """A slash command (type 2). Options are typed from the synced definition.

        ``name`` may address a subcommand: ``"faq add"``. Option values may be plain
        values or FakeUser/FakeChannel/FakeRole (those are added to ``resolved``).
        """
        channel = self._resolve_channel(kwargs.get("channel_id"))
        data = self._command_data(name, options, channel)
        return await self.dispatch_interaction(ix.APPLICATION_COMMAND, data, **kwargs)

    async def dispatch_autocomplete(
        self, name: str, options: dict[str, Any], focused: str, **kwargs: Any
    ) -> ix.FakeInteraction:
        """An autocomplete interaction (type 4) with ``focused`` marked."""
        channel = self._resolve_channel(kwargs.get("channel_id"))
        data = self._command_data(name, options, channel, focused=focused)
        return await self.dispatch_interaction(ix.AUTOCOMPLETE, data, **kwargs)

    async def dispatch_component(
        self,
        message: dict[str, Any] | int,
        custom_id: str,
        *,
        component_type: int = 2,
        values: list[str] | None = None,
        **kwargs: Any,
    ) -> ix.FakeInteraction:
        """A button/select click (type 3) on a message the bot sent (full message included)."""
        msg = self.messages[int(message)] if isinstance(message, int) else message
        msg = self.messages.get(int(msg["id"]), msg)  # the latest version, after edits
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None or component_type in (3, 5, 6, 7, 8):
            data["values"] = values or []
        kwargs.setdefault("channel_id", int(msg["channel_id"]))
        return await self.dispatch_interaction(ix.MESSAGE_COMPONENT, data, message=msg, **kwargs)

    async def dispatch_modal_submit(
        self,
        values: dict[str, Any],
        *,
        modal: dict[str, Any] | ix.FakeInteraction | None = None,
        **kwargs: Any,
    ) -> ix.FakeInteraction:
        """Submit a modal the bot opened (default: the latest), values by ``custom_id``."""
        openers = [i for i in self.interactions.values() if i.modal]
        if isinstance(modal, ix.FakeInteraction):
            openers = [modal]
        elif modal is not None:
            openers = [i for i in openers if i.modal == modal] or openers
        if not openers:
            raise LookupError("the bot has not opened a modal")
        opener = openers[-1]
        form = modal if isinstance(modal, dict) else opener.modal
        assert form is not None
        data = {
            "custom_id": form["custom_id"],
            "components": ix.modal_submit_components(form, values),
        }
        kwargs.setdefault("user", opener.user)
        kwargs.setdefault("channel_id", opener.channel)
        return await self.dispatch_interaction(ix.MODAL_SUBMIT, data, parent=opener, **kwargs)

    async def dispatch_message_command(
        self, name: str, target: dict[str, Any], **kwargs: Any
    ) -> ix.FakeInteraction:
        """A message context-menu command (type 2, data.type 3) on ``target``."""
        channel = self._resolve_channel(kwargs.get("channel_id", int(target["channel_id"])))
        kwargs["channel_id"] = channel
        command = self.registered_command(name, guild_id=channel.guild_id, ctype=3)
        data: dict[str, Any] = {
            "id": command["id"] if command else str(self.world.ids.next()),
            "name": name,
            "type": 3,
            "target_id": target["id"],
            "resolved": {"messages": {target["id"]: target}},
        }
        if command and command.get("guild_id"):
            data["guild_id"] = command["guild_id"]
        return await self.dispatch_interaction(ix.APPLICATION_COMMAND, data, **kwargs)
