"""REST handlers under ``/api/v10``: users, gateway, messages, DMs, interactions,
webhooks (interaction follow-ups) and application commands."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .interactions import ALLOWED_CALLBACKS, APPLICATION_COMMAND, FakeInteraction
from .messages import EPHEMERAL, LOADING, EmptyMessageError
from .world import (
    EMBED_LINKS,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    FakeChannel,
    FakeGuild,
)

if TYPE_CHECKING:
    from .recording import RecordedRequest
    from .server import StandIn

Handler = Callable[["RecordedRequest"], Awaitable[tuple[int, Any]]]


class ApiError(Exception):
    """An error answer. ``protocol`` errors are bot bugs and are recorded as violations."""

    def __init__(self, status: int, code: int, message: str, *, protocol: bool = False) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.protocol = status, code, message, protocol

    def body(self) -> dict[str, Any]:
        return {"message": self.message, "code": self.code}


class RestApi:
    """Route table and handlers; state lives on the owning :class:`StandIn`."""

    def __init__(self, owner: StandIn) -> None:
        self.owner = owner
        self.world = owner.world
        self.handlers: dict[tuple[str, str], Handler] = {}
        r = self._route
        r("GET", "/users/@me", self.get_me)
        r("GET", "/users/{user_id}", self.get_user)
        r("GET", "/oauth2/applications/@me", self.get_application)
        r("GET", "/applications/@me", self.get_application)
        r("GET", "/gateway", self.get_gateway)
        r("GET", "/gateway/bot", self.get_gateway_bot)
        r("POST", "/users/@me/channels", self.create_dm)
        r("GET", "/channels/{channel_id}", self.get_channel)
        r("POST", "/channels/{channel_id}/typing", self.no_content)
        r("GET", "/channels/{channel_id}/messages", self.list_messages)
        r("POST", "/channels/{channel_id}/messages", self.create_message)
        r("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message)
        r("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message)
        r("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message)
        reaction = "/channels/{channel_id}/messages/{message_id}/reactions/{emoji_name}/@me"
        r("PUT", reaction, self.no_content)
        r("DELETE", reaction, self.no_content)
        r("GET", "/guilds/{guild_id}", self.get_guild)
        r("GET", "/guilds/{guild_id}/channels", self.get_guild_channels)
        r("GET", "/guilds/{guild_id}/roles", self.get_guild_roles)
        r("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member)
        r("POST", "/interactions/{interaction_id}/{interaction_token}/callback", self.callback)
        hook = "/webhooks/{webhook_id}/{webhook_token}"
        r("POST", hook, self.followup)
        for target in ("@original", "{message_id}"):
            r("GET", f"{hook}/messages/{target}", self.webhook_get)
            r("PATCH", f"{hook}/messages/{target}", self.webhook_edit)
            r("DELETE", f"{hook}/messages/{target}", self.webhook_delete)
        for base in (
            "/applications/{application_id}/commands",
            "/applications/{application_id}/guilds/{guild_id}/commands",
        ):
            r("GET", base, self.list_commands)
            r("PUT", base, self.overwrite_commands)
            r("POST", base, self.upsert_command)
            r("GET", base + "/{command_id}", self.get_command)
            r("PATCH", base + "/{command_id}", self.edit_command)
            r("DELETE", base + "/{command_id}", self.delete_command)
        r(
            "GET",
            "/applications/{application_id}/guilds/{guild_id}/commands/permissions",
            self.empty_list,
        )

    def _route(self, method: str, template: str, handler: Handler) -> None:
        self.handlers[(method, template)] = handler

    # -- lookups ---------------------------------------------------------------------------
    def _channel(self, rec: RecordedRequest) -> FakeChannel:
        channel = self.world.find_channel(int(rec.params["channel_id"]))
        if channel is None:
            raise ApiError(404, 10003, "Unknown Channel")
        return channel

    def _message(self, rec: RecordedRequest) -> dict[str, Any]:
        msg = self.owner.messages.get(int(rec.params["message_id"]))
        if msg is None or msg["channel_id"] != rec.params["channel_id"]:
            raise ApiError(404, 10008, "Unknown Message")
        return msg

    def _create(
        self, channel: FakeChannel, body: dict[str, Any], rec: RecordedRequest, extra: dict
    ) -> dict[str, Any]:
        try:
            return self.owner.messages.create(channel, body, rec.files, extra=extra)
        except EmptyMessageError:
            raise ApiError(400, 50006, "Cannot send an empty message", protocol=True) from None

    def _check_app(self, rec: RecordedRequest) -> None:
        if rec.params.get("application_id") != str(self.world.application_id):
            raise ApiError(404, 10002, "Unknown Application", protocol=True)

    # -- users / application / gateway -----------------------------------------------------
    async def get_me(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, self.world.bot_user_payload()

    async def get_user(self, rec: RecordedRequest) -> tuple[int, Any]:
        user = self.world.users.get(int(rec.params["user_id"]))
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return 200, user.payload()

    async def get_application(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, self.world.application_payload()

    async def get_gateway(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, {"url": self.owner.gateway_url}

    async def get_gateway_bot(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, {
            "url": self.owner.gateway_url,
            "shards": self.owner.recommended_shards,
            "session_start_limit": {
                "total": 1000,
                "remaining": 999,
                "reset_after": 86_400_000,
                "max_concurrency": 1,
            },
        }

    async def no_content(self, rec: RecordedRequest) -> tuple[int, Any]:
        if "channel_id" in rec.params:
            self._channel(rec)
        return 204, None

    async def empty_list(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, []

    # -- guilds ----------------------------------------------------------------------------
    def _guild(self, rec: RecordedRequest) -> FakeGuild:
        guild = self.world.guilds.get(int(rec.params["guild_id"]))
        if guild is None:
            raise ApiError(404, 10004, "Unknown Guild")
        return guild

    async def get_guild(self, rec: RecordedRequest) -> tuple[int, Any]:
        data = self._guild(rec).create_payload()
        for key in ("members", "channels", "threads", "presences", "voice_states", "joined_at"):
            data.pop(key, None)
        return 200, data

    async def get_guild_channels(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, [c.payload() for c in self._guild(rec).channels]

    async def get_guild_roles(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, [r.payload() for r in self._guild(rec).roles]

    async def get_member(self, rec: RecordedRequest) -> tuple[int, Any]:
        guild = self._guild(rec)
        uid = int(rec.params["user_id"])
        if uid not in guild.members:
            raise ApiError(404, 10007, "Unknown Member")
        return 200, guild.member_payload(uid)

    # -- channels and messages -------------------------------------------------------------
    async def create_dm(self, rec: RecordedRequest) -> tuple[int, Any]:
        recipient = (rec.json or {}).get("recipient_id")
        user = self.world.users.get(int(recipient)) if recipient is not None else None
        if user is None:
            raise ApiError(404, 10013, "Unknown User")
        return 200, self.world.dm_channel(user).payload()

    async def get_channel(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, self._channel(rec).payload()

    async def list_messages(self, rec: RecordedRequest) -> tuple[int, Any]:
        channel = self._channel(rec)
        msgs = self.owner.messages.in_channel(channel.id)[::-1]  # newest first
        if "before" in rec.query:
            msgs = [m for m in msgs if int(m["id"]) < int(rec.query["before"])]
        if "after" in rec.query:
            msgs = [m for m in msgs if int(m["id"]) > int(rec.query["after"])]
        return 200, msgs[: int(rec.query.get("limit", 50))]

    async def get_message(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, self._message(rec)

    async def create_message(self, rec: RecordedRequest) -> tuple[int, Any]:
        channel = self._channel(rec)
        body = rec.json or {}
        if channel.guild_id is not None:
            guild = self.world.guilds[channel.guild_id]
            perms = guild.permissions_for(self.world.bot.id)
            if perms & (VIEW_CHANNEL | SEND_MESSAGES) != VIEW_CHANNEL | SEND_MESSAGES:
                raise ApiError(403, 50013, "Missing Permissions")
            if not perms & EMBED_LINKS:
                body = {**body, "embeds": []}  # Discord drops embeds without Embed Links
        extra: dict[str, Any] = {}
        ref = body.get("message_reference")
        if ref and ref.get("message_id"):
            referenced = self.owner.messages.get(int(ref["message_id"]))
            extra.update(
                type=19,
                message_reference={**ref, "channel_id": str(channel.id), "type": 0},
                referenced_message=referenced,
            )
        return 200, self._create(channel, body, rec, extra)

    async def edit_message(self, rec: RecordedRequest) -> tuple[int, Any]:
        msg = self._message(rec)
        if msg["author"]["id"] != str(self.world.bot.id):
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        return 200, self.owner.messages.edit(msg, rec.json or {}, rec.files)

    async def delete_message(self, rec: RecordedRequest) -> tuple[int, Any]:
        msg = self._message(rec)
        self.owner.messages.delete(msg)
        return 204, None

    # -- interactions ----------------------------------------------------------------------
    def _interaction(self, rec: RecordedRequest) -> FakeInteraction:
        inter = self.owner.interactions.get(int(rec.params["interaction_id"]))
        if inter is None or inter.token != rec.params["interaction_token"]:
            raise ApiError(404, 10062, "Unknown interaction", protocol=True)
        return inter

    async def callback(self, rec: RecordedRequest) -> tuple[int, Any]:
        inter = self._interaction(rec)
        deadline = self.owner.interaction_deadline
        late = time.monotonic() - inter.created
        if deadline is not None and late > deadline:
            raise ApiError(
                404,
                10062,
                f"Unknown interaction (callback {late:.2f}s after dispatch; limit {deadline}s)",
                protocol=True,
            )
        if inter.response_type is not None:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.", protocol=True)
        body = rec.json or {}
        rtype, data = body.get("type"), body.get("data") or {}
        if rtype not in ALLOWED_CALLBACKS.get(inter.type, set()):
            raise ApiError(
                400,
                50035,
                f"callback type {rtype} is not valid for interaction type {inter.type}",
                protocol=True,
            )
        inter.response_type, inter.response_data = rtype, data
        resource = None
        message: dict[str, Any] | None = None
        if rtype in (4, 5):
            flags = int(data.get("flags") or 0) & EPHEMERAL
            if rtype == 5:
                data = {"content": "", "flags": flags | LOADING}
            extra = {
                "type": 20 if inter.type == APPLICATION_COMMAND else 19,
                "webhook_id": str(self.world.application_id),
                "application_id": str(self.world.application_id),
                "interaction_metadata": self._metadata(inter),
            }
            message = self._create(inter.channel, data, rec, extra)
            inter.original_message_id = int(message["id"])
            if rtype == 4:
                resource = {"type": 4, "message": message}
        elif rtype == 7:
            message = self.owner.messages.get(inter.message_id or 0)
            if message is None:
                raise ApiError(404, 10008, "Unknown Message")
            message = self.owner.messages.edit(message, data, rec.files)
            resource = {"type": 7, "message": message}
        if not _truthy(rec.query.get("with_response")):
            return 204, None
        info: dict[str, Any] = {"id": str(inter.id), "type": inter.type}
        if message is not None:
            info.update(
                response_message_id=message["id"],
                response_message_loading=rtype == 5,
                response_message_ephemeral=bool(int(message["flags"]) & EPHEMERAL),
            )
        out: dict[str, Any] = {"interaction": info}
        if resource is not None:
            out["resource"] = resource
        return 200, out

    def _metadata(self, inter: FakeInteraction) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "id": str(inter.id),
            "type": inter.type,
            "user": inter.user.payload(),
            "authorizing_integration_owners": inter.payload["authorizing_integration_owners"],
        }
        if inter.type == APPLICATION_COMMAND:
            meta["name"] = inter.payload["data"]["name"]
        if inter.message_id:
            meta["interacted_message_id"] = str(inter.message_id)
        if inter.parent is not None:
            meta["triggering_interaction_metadata"] = self._metadata(inter.parent)
        if inter.original_message_id:
            meta["original_response_message_id"] = str(inter.original_message_id)
        return meta

    def _webhook_interaction(self, rec: RecordedRequest) -> FakeInteraction:
        token = rec.params["webhook_token"]
        inter = next((i for i in self.owner.interactions.values() if i.token == token), None)
        if rec.params["webhook_id"] != str(self.world.application_id) or inter is None:
            raise ApiError(404, 10015, "Unknown Webhook", protocol=True)
        if inter.response_type is None:
            raise ApiError(
                404, 10015, "Unknown Webhook (interaction not acknowledged yet)", protocol=True
            )
        return inter

    def _webhook_message(self, rec: RecordedRequest, inter: FakeInteraction) -> dict[str, Any]:
        if rec.route.endswith("/@original"):
            mid = inter.original_message_id
            if mid is None and inter.response_type in (6, 7):
                mid = inter.message_id  # component updates edit the message they sit on
        else:
            mid = int(rec.params["message_id"])
            if mid not in (inter.original_message_id, *inter.followup_ids):
                mid = None
        msg = self.owner.messages.get(mid) if mid else None
        if msg is None:
            raise ApiError(404, 10008, "Unknown Message")
        return msg

    async def followup(self, rec: RecordedRequest) -> tuple[int, Any]:
        inter = self._webhook_interaction(rec)
        extra = {
            "type": 0,
            "webhook_id": str(self.world.application_id),
            "application_id": str(self.world.application_id),
            "interaction_metadata": self._metadata(inter),
        }
        msg = self._create(inter.channel, rec.json or {}, rec, extra)
        inter.followup_ids.append(int(msg["id"]))
        return (200, msg) if _truthy(rec.query.get("wait")) else (204, None)

    async def webhook_get(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, self._webhook_message(rec, self._webhook_interaction(rec))

    async def webhook_edit(self, rec: RecordedRequest) -> tuple[int, Any]:
        msg = self._webhook_message(rec, self._webhook_interaction(rec))
        return 200, self.owner.messages.edit(msg, rec.json or {}, rec.files, finish_loading=True)

    async def webhook_delete(self, rec: RecordedRequest) -> tuple[int, Any]:
        msg = self._webhook_message(rec, self._webhook_interaction(rec))
        self.owner.messages.delete(msg)
        return 204, None

    # -- application commands --------------------------------------------------------------
    def _scope(self, rec: RecordedRequest) -> dict[str, dict[str, Any]]:
        self._check_app(rec)
        guild_id = rec.params.get("guild_id")
        if guild_id is not None and int(guild_id) not in self.world.guilds:
            raise ApiError(404, 10004, "Unknown Guild")
        return self.owner.commands.setdefault(guild_id, {})

    def _command(self, body: dict[str, Any], guild_id: str | None, old: dict | None) -> dict:
        cmd = {k: v for k, v in body.items() if v is not None}
        cmd.setdefault("type", 1)
        cmd.setdefault("description", "")
        cmd.setdefault("options", [])
        cmd.setdefault("default_member_permissions", None)
        cmd.setdefault("nsfw", False)
        cmd.setdefault("contexts", None)
        cmd.setdefault("integration_types", [0])
        cmd.update(
            id=old["id"] if old else str(self.world.ids.next()),
            application_id=str(self.world.application_id),
            version=str(self.world.ids.next()),
        )
        if cmd["default_member_permissions"] is not None:
            cmd["default_member_permissions"] = str(cmd["default_member_permissions"])
        if guild_id is not None:
            cmd["guild_id"] = guild_id
        else:
            cmd.setdefault("dm_permission", True)
        return cmd

    @staticmethod
    def _key(cmd: dict[str, Any]) -> str:
        return f"{cmd.get('type', 1)}:{cmd['name']}"

    async def list_commands(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, list(self._scope(rec).values())

    async def overwrite_commands(self, rec: RecordedRequest) -> tuple[int, Any]:
        scope = self._scope(rec)
        old = dict(scope)
        scope.clear()
        guild_id = rec.params.get("guild_id")
        for body in rec.json or []:
            cmd = self._command(body, guild_id, old.get(self._key(body)))
            scope[self._key(cmd)] = cmd
        return 200, list(scope.values())

    async def upsert_command(self, rec: RecordedRequest) -> tuple[int, Any]:
        scope = self._scope(rec)
        body = rec.json or {}
        old = scope.get(self._key(body))
        cmd = self._command(body, rec.params.get("guild_id"), old)
        scope[self._key(cmd)] = cmd
        return (200 if old else 201), cmd

    def _find_command(self, rec: RecordedRequest) -> tuple[str, dict[str, Any]]:
        for key, cmd in self._scope(rec).items():
            if cmd["id"] == rec.params["command_id"]:
                return key, cmd
        raise ApiError(404, 10063, "Unknown application command")

    async def get_command(self, rec: RecordedRequest) -> tuple[int, Any]:
        return 200, self._find_command(rec)[1]

    async def edit_command(self, rec: RecordedRequest) -> tuple[int, Any]:
        key, cmd = self._find_command(rec)
        scope = self._scope(rec)
        del scope[key]
        new = self._command({**cmd, **(rec.json or {})}, rec.params.get("guild_id"), cmd)
        scope[self._key(new)] = new
        return 200, new

    async def delete_command(self, rec: RecordedRequest) -> tuple[int, Any]:
        key, _ = self._find_command(rec)
        del self._scope(rec)[key]
        return 204, None


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true")
