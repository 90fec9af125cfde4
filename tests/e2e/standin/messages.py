"""Every message in the fake Discord: dispatched by tests or created by the bot."""

from __future__ import annotations

import re
from typing import Any

from .recording import RecordedFile
from .world import FakeChannel, FakeUser, World, iso_now

EPHEMERAL, LOADING = 1 << 6, 1 << 7
SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS = 1 << 2, 1 << 12
_SETTABLE_FLAGS = EPHEMERAL | LOADING | SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS
_USER_MENTION = re.compile(r"<@!?(\d+)>")


class EmptyMessageError(Exception):
    """Discord's 50006 "Cannot send an empty message"."""


def pinged_users(
    content: str, allowed: dict[str, Any] | None, users: dict[int, FakeUser]
) -> list[FakeUser]:
    """Users a message would ping, honouring ``allowed_mentions``."""
    ids = [int(m) for m in _USER_MENTION.findall(content or "")]
    if allowed is not None:
        explicit = {int(u) for u in allowed.get("users") or []}
        parse_users = "users" in (allowed.get("parse") or [])
        ids = [i for i in ids if parse_users or i in explicit]
    seen: dict[int, FakeUser] = {}
    for i in ids:
        if i in users:
            seen.setdefault(i, users[i])
    return list(seen.values())


def number_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copy components as Discord stores them: nulls dropped, each given a numeric ``id``."""
    copies = [_without_nulls(c) for c in components]
    items: list[dict[str, Any]] = []

    def walk(component: dict[str, Any]) -> None:
        items.append(component)
        for child in component.get("components") or []:
            walk(child)
        for key in ("component", "accessory"):
            if isinstance(component.get(key), dict):
                walk(component[key])

    for component in copies:
        walk(component)
    taken = {c["id"] for c in items if isinstance(c.get("id"), int)}
    counter = 0
    for component in items:
        if not isinstance(component.get("id"), int):
            counter += 1
            while counter in taken:
                counter += 1
            component["id"] = counter
    return copies


def _without_nulls(value: Any) -> Any:
    """A deep copy without ``None`` members (``"emoji": {"id": null}`` -> no ``id``)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


class MessageStore(dict[int, dict[str, Any]]):
    """Message payloads by id (a dict), plus what the bot's REST calls do to them."""

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.deleted: list[dict[str, Any]] = []

    def add(self, message: dict[str, Any]) -> dict[str, Any]:
        self[int(message["id"])] = message
        return message

    def delete(self, message: dict[str, Any]) -> None:
        self.pop(int(message["id"]), None)
        self.deleted.append(message)

    def in_channel(self, channel_id: int | str) -> list[dict[str, Any]]:
        """Messages in a channel, oldest first."""
        cid = str(channel_id)
        return sorted(
            (m for m in self.values() if m["channel_id"] == cid), key=lambda m: int(m["id"])
        )

    def create(
        self,
        channel: FakeChannel,
        body: dict[str, Any],
        files: list[RecordedFile],
        *,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A message the bot sent, as Discord would store and return it."""
        has_payload = any(
            body.get(k) for k in ("content", "embeds", "components", "sticker_ids", "poll")
        )
        if not has_payload and not files and not int(body.get("flags") or 0) & LOADING:
            raise EmptyMessageError
        content = body.get("content") or ""
        msg = self.world.message_payload(
            channel=channel,
            author=self.world.bot,
            content=content,
            mentions=pinged_users(content, body.get("allowed_mentions"), self.world.users),
            embeds=[{"type": "rich", **e} for e in body.get("embeds") or []],
            components=number_components(body.get("components") or []),
            attachments=self._attachments(channel, body, files),
            flags=int(body.get("flags") or 0) & _SETTABLE_FLAGS,
            extra=extra,
        )
        msg.pop("member", None)  # Discord omits member in the REST answer to the bot
        return self.add(msg)

    def edit(
        self,
        msg: dict[str, Any],
        body: dict[str, Any],
        files: list[RecordedFile],
        *,
        finish_loading: bool = False,
    ) -> dict[str, Any]:
        if "content" in body:
            msg["content"] = body["content"] or ""
            pinged = pinged_users(msg["content"], body.get("allowed_mentions"), self.world.users)
            msg["mentions"] = [u.payload() for u in pinged]
        if "embeds" in body:
            msg["embeds"] = [{"type": "rich", **e} for e in body["embeds"] or []]
        if "components" in body:
            msg["components"] = number_components(body["components"] or [])
        if "attachments" in body or files:
            channel = self.world.find_channel(int(msg["channel_id"]))
            assert channel is not None
            msg["attachments"] = self._attachments(channel, body, files, keep=msg["attachments"])
        if finish_loading:
            msg["flags"] = int(msg.get("flags") or 0) & ~LOADING
        msg["edited_timestamp"] = iso_now()
        return msg

    def _attachments(
        self,
        channel: FakeChannel,
        body: dict[str, Any],
        files: list[RecordedFile],
        keep: list[dict[str, Any]] | None = None,
    ) -> list[dict[str, Any]]:
        """``attachments`` entries: kept ones by id, new ones from ``files[n]`` parts."""
        kept = {a["id"]: a for a in keep or []}
        by_field = {f.field: f for f in files}
        out = []
        for att in body.get("attachments") or []:
            if str(att.get("id")) in kept:
                out.append(kept[str(att["id"])])
                continue
            upload = by_field.get(f"files[{att.get('id')}]")
            if upload is None:
                continue
            aid = self.world.ids.next()
            name = att.get("filename") or upload.filename or "file"
            url = f"https://cdn.discordapp.com/attachments/{channel.id}/{aid}/{name}"
            entry = {
                "id": str(aid),
                "filename": name,
                "content_type": upload.content_type,
                "size": len(upload.data),
                "url": url,
                "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
            }
            if att.get("description"):
                entry["description"] = att["description"]
            out.append(entry)
        return out
