"""The fake Discord the stand-in serves: snowflakes, users, guilds, and payload builders.

Payloads follow Discord's v10 object shapes closely enough for discord.py's parsers
(``state.py``, ``guild.py``, ``message.py``, ``interactions.py``) to build real models.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_EXTERNAL_EMOJIS = 1 << 18
USE_APPLICATION_COMMANDS = 1 << 31
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1

EVERYONE_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | ADD_REACTIONS
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
)
BOT_ROLE_PERMISSIONS = EVERYONE_PERMISSIONS | MANAGE_MESSAGES
MODERATOR_PERMISSIONS = EVERYONE_PERMISSIONS | MANAGE_MESSAGES | MANAGE_GUILD

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024  # free-tier upload limit, sent with every interaction


class SnowflakeFactory:
    """Time-based ids, like Discord's, so discord.py's ``snowflake_time`` sees "now"."""

    def __init__(self, worker: int = 1) -> None:
        self._worker = worker & 0x1F
        self._counter = itertools.count()

    @staticmethod
    def _now_ms() -> int:
        return int(time.time() * 1000) - DISCORD_EPOCH_MS

    def next(self, *, shard: tuple[int, int] | None = None) -> int:
        ms = self._now_ms()
        if shard is not None:
            # (id >> 22) % count == shard_id decides which shard receives a guild.
            shard_id, count = shard
            ms -= (ms - shard_id) % count
        return (ms << 22) | (self._worker << 17) | (next(self._counter) & 0xFFF)


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


def shard_of(guild_id: int, shard_count: int) -> int:
    return (guild_id >> 22) % shard_count


@dataclass
class FakeUser:
    id: int
    username: str
    global_name: str | None = None
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "avatar_decoration_data": None,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "primary_guild": None,
            "collectibles": None,
        }
        if self.bot:
            data["bot"] = True
        return data

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"


@dataclass
class FakeRole:
    id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False
    bot_id: int | None = None

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "description": None,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class FakeChannel:
    id: int
    name: str | None
    type: int = 0  # 0 guild text, 1 DM
    guild_id: int | None = None
    position: int = 0
    recipient: FakeUser | None = None
    last_message_id: int | None = None

    def payload(self) -> dict[str, Any]:
        if self.type == 1:
            assert self.recipient is not None
            return {
                "id": str(self.id),
                "type": 1,
                "last_message_id": _opt_str(self.last_message_id),
                "flags": 0,
                "recipients": [self.recipient.payload()],
            }
        return {
            "id": str(self.id),
            "type": self.type,
            "guild_id": str(self.guild_id),
            "name": self.name,
            "position": self.position,
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "last_message_id": _opt_str(self.last_message_id),
            "rate_limit_per_user": 0,
            "permission_overwrites": [],
            "flags": 0,
        }


@dataclass
class FakeMember:
    user: FakeUser
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_now)

    def payload(self, *, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in self.roles],
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        return data


@dataclass
class FakeGuild:
    id: int
    name: str
    owner_id: int
    roles: list[FakeRole] = field(default_factory=list)
    channels: list[FakeChannel] = field(default_factory=list)
    members: dict[int, FakeMember] = field(default_factory=dict)
    preferred_locale: str = "en-US"

    @property
    def everyone(self) -> FakeRole:
        return self.roles[0]

    @property
    def text_channels(self) -> list[FakeChannel]:
        return [c for c in self.channels if c.type == 0]

    def channel(self, name: str) -> FakeChannel:
        for ch in self.channels:
            if ch.name == name:
                return ch
        raise KeyError(name)

    def role(self, name: str) -> FakeRole:
        for role in self.roles:
            if role.name == name:
                return role
        raise KeyError(name)

    def permissions_for(self, user_id: int) -> int:
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members.get(user_id)
        perms = self.everyone.permissions
        if member is not None:
            by_id = {r.id: r for r in self.roles}
            for rid in member.roles:
                if rid in by_id:
                    perms |= by_id[rid].permissions
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    def member_payload(self, user_id: int, *, with_user: bool = True) -> dict[str, Any]:
        return self.members[user_id].payload(with_user=with_user)

    def create_payload(
        self, *, joined: bool = False, only_member: int | None = None
    ) -> dict[str, Any]:
        """A full GUILD_CREATE ``d``.

        After READY, ``unavailable: false`` marks a guild becoming available; a guild the
        bot just joined has no ``unavailable`` key (discord.py: on_guild_join).
        ``only_member``: without GUILD_PRESENCES Discord lists only the bot's own member.
        """
        members = [
            m for uid, m in self.members.items() if only_member is None or uid == only_member
        ]
        data = {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "icon_hash": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "region": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "widget_enabled": False,
            "widget_channel_id": None,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "nsfw": False,
            "application_id": None,
            "system_channel_id": self.text_channels[0].id if self.text_channels else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_presences": None,
            "max_members": 500_000,
            "max_video_channel_users": 25,
            "max_stage_video_channel_users": 50,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": self.preferred_locale,
            "features": [],
            "roles": [r.payload() for r in self.roles],
            "emojis": [],
            "stickers": [],
            "soundboard_sounds": [],
            "joined_at": iso_now(),
            "large": False,
            "unavailable": False,
            "lazy": True,
            "member_count": len(self.members),
            "voice_states": [],
            "members": [m.payload() for m in members],
            "channels": [c.payload() for c in self.channels],
            "threads": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "embedded_activities": [],
            "activity_instances": [],
            "incidents_data": None,
            "version": 0,
        }
        if joined:
            del data["unavailable"]
        return data

    def interaction_guild(self) -> dict[str, Any]:
        return {"id": str(self.id), "locale": self.preferred_locale, "features": []}


def _opt_str(value: int | None) -> str | None:
    return None if value is None else str(value)


class World:
    """Everything the fake Discord knows: the bot, its application, users and guilds."""

    def __init__(self) -> None:
        self.ids = SnowflakeFactory()
        self.bot = FakeUser(self.ids.next(), "eln-qa-bot", "ELN QA Bot", bot=True)
        self.application_id = self.bot.id  # modern apps: application id == bot user id
        self.alice = FakeUser(self.ids.next(), "alice", "Alice")  # guild owner
        self.bob = FakeUser(self.ids.next(), "bob", "Bob")  # plain member
        self.carol = FakeUser(self.ids.next(), "carol", "Carol")  # moderator
        self.users: dict[int, FakeUser] = {
            u.id: u for u in (self.bot, self.alice, self.bob, self.carol)
        }
        self.guilds: dict[int, FakeGuild] = {}
        self.dm_channels: dict[int, FakeChannel] = {}  # by recipient user id
        self.guild = self.add_guild("ELN Test Server")

    # -- users ------------------------------------------------------------------------
    def add_user(
        self, username: str, *, global_name: str | None = None, bot: bool = False
    ) -> FakeUser:
        user = FakeUser(self.ids.next(), username, global_name, bot=bot)
        self.users[user.id] = user
        return user

    def user(self, user: FakeUser | int | str) -> FakeUser:
        if isinstance(user, FakeUser):
            return user
        if isinstance(user, str) and not user.isdigit():
            for u in self.users.values():
                if u.username == user:
                    return u
            raise KeyError(user)
        return self.users[int(user)]

    # -- guilds -----------------------------------------------------------------------
    def add_guild(
        self,
        name: str,
        *,
        shard: tuple[int, int] | None = None,
        channels: tuple[str, ...] = ("general", "bot-qa"),
        owner: FakeUser | None = None,
    ) -> FakeGuild:
        """Add a guild with @everyone, Moderator and bot roles, text channels and members.

        ``shard=(shard_id, shard_count)`` picks an id that lands on that shard.
        """
        owner = owner or self.alice
        gid = self.ids.next(shard=shard)
        everyone = FakeRole(gid, "@everyone", EVERYONE_PERMISSIONS, 0)
        moderator = FakeRole(self.ids.next(), "Moderator", MODERATOR_PERMISSIONS, 1)
        bot_role = FakeRole(
            self.ids.next(), self.bot.username, BOT_ROLE_PERMISSIONS, 2, True, self.bot.id
        )
        guild = FakeGuild(gid, name, owner.id, roles=[everyone, moderator, bot_role])
        for pos, ch_name in enumerate(channels):
            guild.channels.append(FakeChannel(self.ids.next(), ch_name, 0, gid, pos))
        guild.members[self.bot.id] = FakeMember(self.bot, [bot_role.id])
        guild.members[owner.id] = FakeMember(owner)
        for user in (self.alice, self.bob):
            guild.members.setdefault(user.id, FakeMember(user))
        guild.members.setdefault(self.carol.id, FakeMember(self.carol, [moderator.id]))
        self.guilds[gid] = guild
        return guild

    def guilds_for_shard(self, shard: tuple[int, int] | None) -> list[FakeGuild]:
        if shard is None:
            return list(self.guilds.values())
        shard_id, count = shard
        return [g for g in self.guilds.values() if shard_of(g.id, count) == shard_id]

    def find_channel(self, channel_id: int) -> FakeChannel | None:
        for guild in self.guilds.values():
            for ch in guild.channels:
                if ch.id == channel_id:
                    return ch
        for ch in self.dm_channels.values():
            if ch.id == channel_id:
                return ch
        return None

    def dm_channel(self, user: FakeUser) -> FakeChannel:
        ch = self.dm_channels.get(user.id)
        if ch is None:
            ch = FakeChannel(self.ids.next(), None, 1, recipient=user)
            self.dm_channels[user.id] = ch
        return ch

    # -- payloads ---------------------------------------------------------------------
    def bot_user_payload(self) -> dict[str, Any]:
        data = self.bot.payload()
        data.update(verified=True, mfa_enabled=False, locale="en-US", email=None, bio="")
        return data

    def application_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": self.bot.username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot": self.bot.payload(),
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": self.alice.payload(),
            "team": None,
            "flags": 0,
            "flags_new": "0",
            "tags": [],
            "redirect_uris": [],
            "explicit_content_filter": 0,
            "eligible_oauth2_scopes": ["bot", "applications.commands"],
            "approximate_user_install_count": 0,
            "approximate_user_authorization_count": 0,
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "integration_types_config": {"0": {}},
            "approximate_guild_count": len(self.guilds),
        }

    def message_payload(
        self,
        *,
        channel: FakeChannel,
        author: FakeUser,
        content: str = "",
        mentions: list[FakeUser] | None = None,
        embeds: list[dict[str, Any]] | None = None,
        components: list[dict[str, Any]] | None = None,
        attachments: list[dict[str, Any]] | None = None,
        flags: int = 0,
        message_id: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        mid = message_id or self.ids.next()
        data: dict[str, Any] = {
            "id": str(mid),
            "type": 0,
            "channel_id": str(channel.id),
            "author": author.payload(),
            "content": content,
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [u.payload() for u in mentions or []],
            "mention_roles": [],
            "mention_channels": [],
            "attachments": attachments or [],
            "embeds": embeds or [],
            "reactions": [],
            "pinned": False,
            "flags": flags,
            "components": components or [],
        }
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
            guild = self.guilds[channel.guild_id]
            if author.id in guild.members:
                data["member"] = guild.member_payload(author.id, with_user=False)
            for m in data["mentions"]:
                uid = int(m["id"])
                if uid in guild.members:
                    m["member"] = guild.member_payload(uid, with_user=False)
        if extra:
            data.update(extra)
        channel.last_message_id = mid
        return data
