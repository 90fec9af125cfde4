"""INTERACTION_CREATE payloads and the stand-in's record of each interaction."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .world import (
    ATTACHMENT_SIZE_LIMIT,
    FakeChannel,
    FakeGuild,
    FakeRole,
    FakeUser,
    World,
)

if TYPE_CHECKING:
    from .server import RecordedRequest, StandIn

# Interaction types and callback types.
APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {4, 5, 9},
    MESSAGE_COMPONENT: {4, 5, 6, 7, 9},
    AUTOCOMPLETE: {8},
    MODAL_SUBMIT: {4, 5, 6, 7},
}
# Option types for values given as plain Python objects.
SUB_COMMAND, SUB_COMMAND_GROUP, STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE = range(1, 9)
ATTACHMENT = 11


@dataclass
class FakeAttachment:
    """A file a user attached to a slash command; the stand-in serves its bytes at ``url``."""

    id: int
    filename: str
    data: bytes
    url: str
    content_type: str = "application/x-yaml"

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "filename": self.filename,
            "size": len(self.data),
            "url": self.url,
            "proxy_url": self.url,
            "content_type": self.content_type,
        }


NUMBER = 10


@dataclass
class FakeInteraction:
    """An interaction the stand-in dispatched, and what the bot did with it."""

    id: int
    token: str
    type: int
    payload: dict[str, Any]
    channel: FakeChannel
    guild: FakeGuild | None
    user: FakeUser
    owner: StandIn
    message_id: int | None = None  # the message a component sits on
    parent: FakeInteraction | None = None  # for a modal submit: the one that opened it
    created: float = field(default_factory=time.monotonic)
    response_type: int | None = None
    response_data: Any = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)

    @property
    def choices(self) -> list[dict[str, Any]] | None:
        """Autocomplete choices from a type 8 callback."""
        if self.response_type == 8:
            return (self.response_data or {}).get("choices")
        return None

    @property
    def modal(self) -> dict[str, Any] | None:
        return self.response_data if self.response_type == 9 else None

    def requests(self) -> list[RecordedRequest]:
        """Callback and webhook requests made with this interaction's token."""
        return self.owner.interaction_responses(self)

    async def callback(self, timeout: float = 5.0) -> RecordedRequest:  # noqa: ASYNC109 (mirrors asyncio.wait_for)
        """Wait for the (completed) interaction callback request."""
        return await self.owner.wait_for_request(
            lambda r: (
                r.route == "/interactions/{interaction_id}/{interaction_token}/callback"
                and r.params.get("interaction_id") == str(self.id)
            ),
            timeout=timeout,
        )

    async def original(self, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109 (mirrors asyncio.wait_for)
        """Wait until the original response message exists and is not "thinking"."""

        def done() -> dict[str, Any] | None:
            mid = self.original_message_id
            msg = self.owner.messages.get(mid) if mid else None
            return msg if msg and not int(msg.get("flags") or 0) & 128 else None

        return await self.owner.wait_until(done, timeout, f"original response of {self.id}")


def new_token() -> str:
    return "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)


def interaction_payload(
    world: World,
    *,
    itype: int,
    data: dict[str, Any] | None,
    user: FakeUser,
    channel: FakeChannel,
    interaction_id: int,
    token: str,
    message: dict[str, Any] | None = None,
    locale: str = "en-US",
) -> dict[str, Any]:
    """A complete INTERACTION_CREATE ``d`` as Discord sends it to a guild-installed app."""
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(world.application_id),
        "type": itype,
        "token": token,
        "version": 1,
        "locale": locale,
        "entitlements": [],
        "entitlement_sku_ids": [],
        "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        "channel_id": str(channel.id),
    }
    if data is not None:
        payload["data"] = data
    if message is not None:
        payload["message"] = message
    channel_payload = channel.payload()
    if channel.guild_id is not None:
        guild = world.guilds[channel.guild_id]
        member = guild.member_payload(user.id)
        member["permissions"] = str(guild.permissions_for(user.id))
        channel_payload["permissions"] = member["permissions"]
        payload.update(
            guild_id=str(guild.id),
            guild=guild.interaction_guild(),
            guild_locale=guild.preferred_locale,
            member=member,
            app_permissions=str(guild.permissions_for(world.bot.id)),
            authorizing_integration_owners={"0": str(guild.id)},
            context=0,
        )
    else:
        payload.update(
            user=user.payload(),
            app_permissions=str(_DM_APP_PERMISSIONS),
            authorizing_integration_owners={"0": "0"},
            context=1,
        )
    payload["channel"] = channel_payload
    return payload


# What an app may do in a bot DM (view, send, embed, attach, history, reactions, emojis).
_DM_APP_PERMISSIONS = (
    (1 << 6) | (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 18)
)


class Resolved:
    """Builds ``data.resolved`` while options are converted."""

    def __init__(self, world: World, guild: FakeGuild | None) -> None:
        self.world = world
        self.guild = guild
        self.data: dict[str, dict[str, Any]] = {}

    def add_user(self, user: FakeUser) -> None:
        self.data.setdefault("users", {})[str(user.id)] = user.payload()
        if self.guild is not None and user.id in self.guild.members:
            member = self.guild.member_payload(user.id, with_user=False)
            member["permissions"] = str(self.guild.permissions_for(user.id))
            self.data.setdefault("members", {})[str(user.id)] = member

    def add_channel(self, channel: FakeChannel) -> None:
        entry = {
            "id": str(channel.id),
            "name": channel.name,
            "type": channel.type,
            "permissions": str(self.guild.permissions_for(self.world.bot.id) if self.guild else 0),
        }
        self.data.setdefault("channels", {})[str(channel.id)] = entry

    def add_role(self, role: FakeRole) -> None:
        self.data.setdefault("roles", {})[str(role.id)] = role.payload()

    def add_message(self, message: dict[str, Any]) -> None:
        self.data.setdefault("messages", {})[message["id"]] = message

    def add_attachment(self, attachment: FakeAttachment) -> None:
        self.data.setdefault("attachments", {})[str(attachment.id)] = attachment.payload()


def _option_type(value: Any) -> int:
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    if isinstance(value, FakeUser):
        return USER
    if isinstance(value, FakeChannel):
        return CHANNEL
    if isinstance(value, FakeRole):
        return ROLE
    if isinstance(value, FakeAttachment):
        return ATTACHMENT
    return STRING


def _option_value(value: Any, otype: int, resolved: Resolved) -> Any:
    if isinstance(value, FakeUser):
        resolved.add_user(value)
        return str(value.id)
    if isinstance(value, FakeChannel):
        resolved.add_channel(value)
        return str(value.id)
    if isinstance(value, FakeRole):
        resolved.add_role(value)
        return str(value.id)
    if isinstance(value, FakeAttachment):
        resolved.add_attachment(value)
        return str(value.id)
    if otype in (USER, CHANNEL, ROLE, 9, 11):
        return str(value)
    return value


def build_options(
    definitions: list[dict[str, Any]] | None,
    values: dict[str, Any],
    resolved: Resolved,
    focused: str | None = None,
) -> list[dict[str, Any]]:
    """Turn ``{"question": "x"}`` into option objects, typed by the synced definitions."""
    by_name = {d["name"]: d for d in definitions or []}
    options = []
    for name, value in values.items():
        otype = int(by_name[name]["type"]) if name in by_name else _option_type(value)
        option: dict[str, Any] = {"name": name, "type": otype}
        if name == focused:
            option["value"] = str(value)  # autocomplete sends what the user has typed
            option["focused"] = True
        else:
            option["value"] = _option_value(value, otype, resolved)
        options.append(option)
    return options


def command_data(
    command: dict[str, Any] | None,
    name: str,
    values: dict[str, Any] | list[dict[str, Any]] | None,
    resolved: Resolved,
    *,
    command_id: int,
    focused: str | None = None,
) -> dict[str, Any]:
    """``data`` for a chat-input command; ``"faq add"`` addresses a subcommand."""
    root, *path = name.split()
    definitions = (command or {}).get("options") or []
    if isinstance(values, list):
        leaf_options = values
    else:
        for part in path:
            sub = next((d for d in definitions if d.get("name") == part), None)
            definitions = (sub or {}).get("options") or []
        leaf_options = build_options(definitions, values or {}, resolved, focused)
    options = leaf_options
    for depth, part in reversed(list(enumerate(path))):
        kind = SUB_COMMAND if depth == len(path) - 1 else SUB_COMMAND_GROUP
        options = [{"name": part, "type": kind, "options": options}]
    data: dict[str, Any] = {"id": str(command_id), "name": root, "type": 1}
    if options:
        data["options"] = options
    if command and command.get("guild_id"):
        data["guild_id"] = command["guild_id"]
    if resolved.data:
        data["resolved"] = resolved.data
    return data


def modal_submit_components(modal: dict[str, Any], values: dict[str, Any]) -> list[dict[str, Any]]:
    """Mirror a modal the bot sent, filling text inputs / selects by ``custom_id``."""

    def submitted(component: dict[str, Any]) -> dict[str, Any]:
        ctype = component.get("type")
        out: dict[str, Any] = {"type": ctype, "id": component.get("id", 0)}
        if ctype == 1:
            out["components"] = [submitted(c) for c in component.get("components", [])]
        elif ctype == 18:  # Label wraps one component
            out["component"] = submitted(component["component"])
        elif "custom_id" in component:
            out["custom_id"] = component["custom_id"]
            value = values.get(component["custom_id"], component.get("value", ""))
            if ctype == 4:
                out["value"] = value
            else:
                out["values"] = value if isinstance(value, list) else [value]
        return out

    return [submitted(c) for c in modal.get("components", [])]
