"""The gateway half of the stand-in: HELLO, heartbeats, IDENTIFY/READY, RESUME, faults.

A :class:`GatewaySession` outlives its websocket: events dispatched while the client is
disconnected stay in the session's log and are replayed on RESUME, as Discord does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .world import shard_of

if TYPE_CHECKING:
    from .server import StandIn

log = logging.getLogger(__name__)

# Opcodes and intents (https://discord.com/developers/docs/topics/gateway).
DISPATCH, HEARTBEAT, IDENTIFY, PRESENCE_UPDATE, VOICE_STATE_UPDATE = 0, 1, 2, 3, 4
RESUME, RECONNECT, REQUEST_GUILD_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = (
    6,
    7,
    8,
    9,
    10,
    11,
)
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT
# Close codes after which Discord will not accept a RESUME.
NON_RESUMABLE_CLOSES = {4007, 4009}


@dataclass
class GatewayFrame:
    """One gateway payload, as sent ("send") or received from the client ("recv")."""

    direction: str
    op: int | None
    t: str | None
    s: int | None
    d: Any
    session_id: str | None
    shard: tuple[int, int] | None
    at: float = field(default_factory=time.monotonic)


class Connection:
    """One websocket connection from the client."""

    def __init__(self, ws: web.WebSocketResponse, request: web.Request) -> None:
        self.ws = ws
        self.request = request
        self.path = request.path
        self.query = dict(request.query)
        self.compression = self.query.get("compress", "none")
        # zlib-stream: one deflate context for the connection, each payload ends with a
        # Z_SYNC_FLUSH. zstd-stream is answered with plain text frames, which discord.py
        # also accepts (it only decompresses binary frames).
        self._zlib = zlib.compressobj() if self.compression == "zlib-stream" else None
        self._lock = asyncio.Lock()
        self.session: GatewaySession | None = None
        self.heartbeats = 0
        self.opened_at = time.monotonic()
        self.closed = False

    @property
    def live(self) -> bool:
        return not self.closed and not self.ws.closed

    async def send(self, payload: dict[str, Any]) -> None:
        text = json.dumps(payload, separators=(",", ":"))
        async with self._lock:
            if not self.live:
                raise ConnectionResetError("gateway connection is closed")
            if self._zlib is not None:
                data = self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(text)

    async def close(self, code: int, message: str = "") -> None:
        if code == 1006:
            # 1006 cannot be sent; it is what the client sees when the TCP link just dies.
            transport = self.request.transport
            if transport is not None:
                transport.abort()
            self.closed = True
            return
        self.closed = True
        with contextlib.suppress(ConnectionError, asyncio.TimeoutError):
            await self.ws.close(code=code, message=message.encode())


class GatewaySession:
    """A logical Discord session: id, shard, sequence and the log of its dispatches."""

    def __init__(self, *, shard: tuple[int, int] | None, intents: int, identify: dict) -> None:
        self.session_id = uuid.uuid4().hex
        self.shard = shard
        self.intents = intents
        self.identify = identify
        self.seq = 0
        self.events: list[tuple[int, str, Any]] = []
        self.connection: Connection | None = None
        self.resumable = True
        self.resumes = 0
        self._lock = asyncio.Lock()

    @property
    def shard_id(self) -> int:
        return self.shard[0] if self.shard else 0

    @property
    def live(self) -> bool:
        return self.connection is not None and self.connection.live

    def owns_guild(self, guild_id: int) -> bool:
        return self.shard is None or shard_of(guild_id, self.shard[1]) == self.shard[0]

    def has_intent(self, intent: int) -> bool:
        return bool(self.intents & intent)

    async def dispatch(self, t: str, d: Any) -> int:
        """Sequence and log an event; send it now if the client is connected."""
        async with self._lock:
            self.seq += 1
            self.events.append((self.seq, t, d))
            if self.live:
                assert self.connection is not None
                with contextlib.suppress(ConnectionError):
                    await self.connection.send({"op": DISPATCH, "t": t, "s": self.seq, "d": d})
            return self.seq

    async def replay(self, conn: Connection, after: int | None) -> int:
        """Attach ``conn`` and send every event after ``after``, then RESUMED."""
        async with self._lock:
            self.connection = conn
            missed = [e for e in self.events if after is None or e[0] > after]
            for seq, t, d in missed:
                await conn.send({"op": DISPATCH, "t": t, "s": seq, "d": d})
            self.seq += 1
            self.events.append((self.seq, "RESUMED", {}))
            await conn.send({"op": DISPATCH, "t": "RESUMED", "s": self.seq, "d": {}})
            self.resumes += 1
            return len(missed)


class Gateway:
    """Websocket endpoint and session registry, owned by a :class:`StandIn`."""

    def __init__(self, owner: StandIn) -> None:
        self.owner = owner
        self.sessions: list[GatewaySession] = []
        self.connections: list[Connection] = []
        self.frames: list[GatewayFrame] = []

    # -- websocket endpoint --------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0, timeout=2.0, compress=False)
        await ws.prepare(request)
        conn = Connection(ws, request)
        self.connections.append(conn)
        try:
            await self._send(conn, {"op": HELLO, "d": self._hello(), "s": None, "t": None})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    await conn.close(4002, "Error while decoding payload.")
                    break
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    await conn.close(4002, "Error while decoding payload.")
                    break
                await self._on_frame(conn, frame)
        except ConnectionError:
            pass
        finally:
            conn.closed = True
            if conn.session is not None and conn.session.connection is conn:
                conn.session.connection = None
            self.owner.notify()
        return ws

    def _hello(self) -> dict[str, Any]:
        return {"heartbeat_interval": self.owner.heartbeat_interval, "_trace": ["standin"]}

    async def _send(self, conn: Connection, payload: dict[str, Any]) -> None:
        self._record("send", conn, payload)
        await conn.send(payload)

    def _record(self, direction: str, conn: Connection, payload: dict[str, Any]) -> None:
        session = conn.session
        self.frames.append(
            GatewayFrame(
                direction,
                payload.get("op"),
                payload.get("t"),
                payload.get("s"),
                payload.get("d"),
                session.session_id if session else None,
                session.shard if session else None,
            )
        )
        self.owner.notify()

    async def _on_frame(self, conn: Connection, frame: dict[str, Any]) -> None:
        self._record("recv", conn, frame)
        op, d = frame.get("op"), frame.get("d")
        if op == HEARTBEAT:
            conn.heartbeats += 1
            await self._send(conn, {"op": HEARTBEAT_ACK})
        elif op == IDENTIFY:
            await self._identify(conn, d or {})
        elif op == RESUME:
            await self._resume(conn, d or {})
        elif op == REQUEST_GUILD_MEMBERS:
            await self._request_members(conn, d or {})
        elif op in (PRESENCE_UPDATE, VOICE_STATE_UPDATE):
            pass  # recorded above; nothing to answer
        else:
            await conn.close(4001, "Unknown opcode.")

    def _token_ok(self, token: Any) -> bool:
        expected = self.owner.token
        return isinstance(token, str) and (expected is None or token == expected)

    async def _identify(self, conn: Connection, d: dict[str, Any]) -> None:
        if conn.session is not None:
            await conn.close(4005, "Already authenticated.")
            return
        if not self._token_ok(d.get("token")):
            await conn.close(4004, "Authentication failed.")
            return
        raw_shard = d.get("shard")
        shard: tuple[int, int] | None = None
        if raw_shard is not None:
            if not (len(raw_shard) == 2 and 0 <= raw_shard[0] < raw_shard[1]):
                await conn.close(4010, "Invalid shard.")
                return
            shard = (int(raw_shard[0]), int(raw_shard[1]))
        intents = int(d.get("intents") or 0)
        if intents & PRIVILEGED_INTENTS & ~self.owner.privileged_intents:
            await conn.close(4014, "Disallowed intent(s).")
            return
        session = GatewaySession(shard=shard, intents=intents, identify=d)
        session.connection = conn
        conn.session = session
        self.sessions.append(session)
        world = self.owner.world
        guilds = world.guilds_for_shard(shard)
        ready = {
            "v": 10,
            "user": world.bot_user_payload(),
            "user_settings": {},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.owner.resume_gateway_url,
            "relationships": [],
            "private_channels": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["local"],
            "auth": {},
            "application": {"id": str(world.application_id), "flags": 0},
            "_trace": ["standin"],
        }
        if shard is not None:
            ready["shard"] = list(shard)
        await self._dispatch_recorded(session, "READY", ready)
        if session.has_intent(INTENT_GUILDS):
            for guild in guilds:
                payload = guild.create_payload(only_member=self.visible_member(session))
                await self._dispatch_recorded(session, "GUILD_CREATE", payload)

    async def _resume(self, conn: Connection, d: dict[str, Any]) -> None:
        session = self.session_by_id(d.get("session_id"))
        seq = d.get("seq")
        if (
            session is None
            or not session.resumable
            or not self._token_ok(d.get("token"))
            or (seq is not None and seq > session.seq)
        ):
            await self._send(conn, {"op": INVALID_SESSION, "d": False})
            return
        if session.connection is not None and session.connection is not conn:
            await session.connection.close(4000, "Session resumed elsewhere.")
        conn.session = session
        await session.replay(conn, seq)
        self._record("send", conn, {"op": DISPATCH, "t": "RESUMED", "s": session.seq, "d": {}})

    async def _request_members(self, conn: Connection, d: dict[str, Any]) -> None:
        if conn.session is None:
            await conn.close(4003, "Not authenticated.")
            return
        ids = d.get("guild_id")
        for gid in ids if isinstance(ids, list) else [ids]:
            guild = self.owner.world.guilds.get(int(gid))
            if guild is None:
                continue
            members = list(guild.members.values())
            if d.get("user_ids"):
                wanted = {int(u) for u in d["user_ids"]}
                members = [m for m in members if m.user.id in wanted]
            elif d.get("query"):
                members = [m for m in members if m.user.username.startswith(d["query"])]
            chunk: dict[str, Any] = {
                "guild_id": str(guild.id),
                "members": [m.payload() for m in members],
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [],
            }
            if d.get("nonce"):
                chunk["nonce"] = d["nonce"]
            await self._dispatch_recorded(conn.session, "GUILD_MEMBERS_CHUNK", chunk)

    async def _dispatch_recorded(self, session: GatewaySession, t: str, d: Any) -> int:
        seq = await session.dispatch(t, d)
        self.frames.append(
            GatewayFrame("send", DISPATCH, t, seq, d, session.session_id, session.shard)
        )
        self.owner.notify()
        return seq

    # -- helpers for the stand-in -------------------------------------------------------
    def visible_member(self, session: GatewaySession) -> int | None:
        """Without GUILD_PRESENCES, GUILD_CREATE lists only the bot's member (chunk the rest)."""
        return None if session.has_intent(INTENT_GUILD_PRESENCES) else self.owner.world.bot.id

    def session_by_id(self, session_id: Any) -> GatewaySession | None:
        return next((s for s in self.sessions if s.session_id == session_id), None)

    def current_sessions(self) -> list[GatewaySession]:
        """The newest session per shard (older ones were replaced by re-IDENTIFY)."""
        newest: dict[int, GatewaySession] = {}
        for session in self.sessions:
            newest[session.shard_id] = session
        return list(newest.values())

    def session_for(
        self, *, guild_id: int | None = None, shard_id: int | None = None
    ) -> GatewaySession:
        sessions = self.current_sessions()
        if not sessions:
            raise RuntimeError("no gateway session: is the bot running (running_bot)?")
        if shard_id is not None:
            match = [s for s in sessions if s.shard_id == shard_id]
        elif guild_id is not None:
            match = [s for s in sessions if s.owns_guild(guild_id)]
        else:
            match = [s for s in sessions if s.shard_id == 0]  # DMs arrive on shard 0
        if not match:
            raise RuntimeError(f"no session for guild_id={guild_id} shard_id={shard_id}")
        return match[0]

    async def dispatch(self, t: str, d: Any, session: GatewaySession) -> int:
        return await self._dispatch_recorded(session, t, d)

    def _targets(self, shard_id: int | None) -> list[GatewaySession]:
        sessions = self.current_sessions()
        if shard_id is not None:
            sessions = [s for s in sessions if s.shard_id == shard_id]
        return sessions

    async def drop(self, code: int, shard_id: int | None) -> int:
        """Close the live socket(s) with ``code``; 1006 drops TCP without a close frame."""
        dropped = 0
        for session in self._targets(shard_id):
            conn = session.connection
            if conn is None or not conn.live:
                continue
            if code in NON_RESUMABLE_CLOSES:
                session.resumable = False
            await conn.close(code, "stand-in fault")
            dropped += 1
        return dropped

    async def send_op(self, op: int, d: Any, shard_id: int | None) -> int:
        sent = 0
        for session in self._targets(shard_id):
            conn = session.connection
            if conn is not None and conn.live:
                if op == INVALID_SESSION and not d:
                    session.resumable = False
                await self._send(conn, {"op": op, "d": d, "s": None, "t": None})
                sent += 1
        return sent

    async def close_all(self) -> None:
        for conn in self.connections:
            if conn.live:
                await conn.close(1001, "stand-in stopping")
