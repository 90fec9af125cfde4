"""The stand-in itself: an aiohttp server on 127.0.0.1 speaking Discord's gateway and REST.

Tests drive it with the dispatch helpers (messages, DMs, interactions), inject faults,
and read back what the bot put on the wire from :attr:`StandIn.requests`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import BodyPartReader, web

from . import interactions as ix
from .dispatch import DispatchMixin
from .faults import Fault, parse_pattern, route_matches
from .gateway import (
    INVALID_SESSION,
    PRIVILEGED_INTENTS,
    RECONNECT,
    Gateway,
    GatewayFrame,
    GatewaySession,
)
from .messages import MessageStore
from .recording import RecordedFile, RecordedRequest
from .rest import ApiError, RestApi
from .routes import RouteTable
from .validate import SpecValidator, Violation, discord_error_body, limit_violations
from .world import FakeChannel, FakeGuild, FakeUser, World

log = logging.getLogger(__name__)
T = TypeVar("T")

# Discord's OpenAPI description, vendored with its licence in tests/data/discord-api-spec/.
# It is part of the repository, so a missing file is a broken checkout, not a reason to
# stop validating: the stand-in refuses to start without it.
DEFAULT_SPEC = Path(__file__).resolve().parents[2] / "data" / "discord-api-spec" / "openapi.json"
_UNAUTHENTICATED_PREFIXES = ("/interactions/", "/webhooks/")


class StandIn(DispatchMixin):
    """A Discord stand-in on 127.0.0.1 with a random free port.

    ``spec_path=None`` validates every request against the vendored OpenAPI file
    (:data:`DEFAULT_SPEC`) and raises :class:`FileNotFoundError` when it is missing;
    ``spec_path=False`` turns validation off, for benchmarks only: no test does.
    """

    def __init__(
        self,
        *,
        heartbeat_interval: int = 41250,
        spec_path: Path | bool | None = None,
        reject_invalid: bool = True,
        check_responses: bool = True,
        interaction_deadline: float | None = 3.0,
        token: str | None = None,
        recommended_shards: int = 1,
        privileged_intents: int = PRIVILEGED_INTENTS,
        rate_limit: tuple[int, float] = (50, 1.0),
    ) -> None:
        self.heartbeat_interval = heartbeat_interval
        self.reject_invalid = reject_invalid
        self.check_responses = check_responses
        self.interaction_deadline = interaction_deadline
        self.token = token
        self.recommended_shards = recommended_shards
        self.privileged_intents = privileged_intents
        self.rate_limit = rate_limit
        self.spec = self._load_spec(spec_path)
        self.world = World()
        self.gateway = Gateway(self)
        self.rest = RestApi(self)
        self.routes = RouteTable(t for _, t in self.rest.handlers)
        self.requests: list[RecordedRequest] = []
        self.response_violations: list[tuple[RecordedRequest, Violation]] = []
        self.unknown_routes: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.messages = MessageStore(self.world)
        self._attachments: dict[int, ix.FakeAttachment] = {}
        self.interactions: dict[int, ix.FakeInteraction] = {}
        self.commands: dict[str | None, dict[str, dict[str, Any]]] = {}
        self.violations_expected = False
        self._buckets: dict[str, list[float]] = {}
        self._waiters: list[asyncio.Future[None]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    @staticmethod
    def _load_spec(spec_path: Path | bool | None) -> SpecValidator | None:
        if spec_path is False:
            return None
        path = DEFAULT_SPEC if spec_path is None or spec_path is True else Path(spec_path)
        if not path.is_file():
            raise FileNotFoundError(
                f"Discord's OpenAPI spec is missing at {path}: the stand-in validates every "
                "request against it (see tests/data/README.md to restore it)"
            )
        return SpecValidator.load(path)

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> StandIn:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        for path in ("/", "/gateway", "/gateway/", "/resume", "/resume/"):
            app.router.add_get(path, self.gateway.handle)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._handle_rest)
        app.router.add_get("/attachments/{attachment_id}/{filename}", self._serve_attachment)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]  # port 0: the OS picked a free one
        return self

    def attach(self, filename: str, data: bytes) -> ix.FakeAttachment:
        """A file for a slash command's attachment option, downloadable from the stand-in
        (as Discord's CDN serves real ones)."""
        aid = self.world.ids.next()
        url = f"{self.base_url}/attachments/{aid}/{filename}"
        self._attachments[aid] = ix.FakeAttachment(aid, filename, data, url)
        return self._attachments[aid]

    async def _serve_attachment(self, request: web.Request) -> web.Response:
        found = self._attachments.get(int(request.match_info["attachment_id"]))
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found.data, content_type="application/octet-stream")

    async def stop(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> StandIn:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway/"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/resume/"

    @property
    def sessions(self) -> list[GatewaySession]:
        """The newest gateway session of each shard (``gateway.sessions`` has them all)."""
        return self.gateway.current_sessions()

    # -- world shortcuts ---------------------------------------------------------------------
    @property
    def bot_user(self) -> FakeUser:
        return self.world.bot

    @property
    def guild(self) -> FakeGuild:
        return self.world.guild

    @property
    def channel(self) -> FakeChannel:
        """The default guild's #general."""
        return self.world.guild.text_channels[0]

    async def join_guild(self, name: str, **kwargs: Any) -> FakeGuild:
        """Add a guild while the bot runs: GUILD_CREATE to the shard that owns it."""
        guild = self.world.add_guild(name, **kwargs)
        session = self.gateway.session_for(guild_id=guild.id)
        payload = guild.create_payload(
            joined=True, only_member=self.gateway.visible_member(session)
        )
        await self.gateway.dispatch("GUILD_CREATE", payload, session)
        return guild

    # -- waiting -----------------------------------------------------------------------------
    def notify(self) -> None:
        """Wake every waiter to re-check (called whenever something is recorded)."""
        for fut in self._waiters:
            if not fut.done():
                fut.set_result(None)

    async def wait_until(
        self,
        check: Callable[[], T | None],
        timeout: float = 5.0,  # noqa: ASYNC109 (mirrors asyncio.wait_for)
        what: str = "a condition",
    ) -> T:
        """Return ``check()``'s first truthy result.

        Re-checked on every recorded request/frame, and every 20 ms for state the stand-in
        cannot see change (e.g. a list the bot appends to).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (result := check()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"stand-in: timed out after {timeout}s waiting for {what}")
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append(fut)
            try:
                await asyncio.wait_for(fut, min(remaining, 0.02))
            except TimeoutError:
                pass
            finally:
                self._waiters.remove(fut)
        return result

    async def wait_for_request(
        self,
        predicate: Callable[[RecordedRequest], bool] | str,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 (mirrors asyncio.wait_for)
        after: int = 0,
    ) -> RecordedRequest:
        """First completed request (from index ``after``) matching ``predicate``.

        ``predicate`` may be a callable or a string ``"METHOD /route/{template}"``.
        """
        if isinstance(predicate, str):
            check, what = self._route_check(predicate), predicate
        else:
            check, what = predicate, getattr(predicate, "__name__", "request")

        def find() -> RecordedRequest | None:
            return next((r for r in self.requests[after:] if r.done and check(r)), None)

        return await self.wait_until(find, timeout, what)

    async def wait_for_frame(
        self,
        predicate: Callable[[GatewayFrame], bool],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 (mirrors asyncio.wait_for)
        after: int = 0,
    ) -> GatewayFrame:
        """First gateway frame (from index ``after``) matching ``predicate``."""

        def find() -> GatewayFrame | None:
            return next((f for f in self.gateway.frames[after:] if predicate(f)), None)

        return await self.wait_until(find, timeout, "gateway frame")

    async def wait_for_sessions(
        self,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 (mirrors asyncio.wait_for)
    ) -> list[GatewaySession]:
        """Wait until ``count`` sessions are connected (READY sent)."""

        def live() -> list[GatewaySession] | None:
            sessions = [s for s in self.gateway.current_sessions() if s.live]
            return sessions if len(sessions) >= count else None

        return await self.wait_until(live, timeout, f"{count} live gateway session(s)")

    # -- recording queries -------------------------------------------------------------------
    @property
    def violations(self) -> list[tuple[RecordedRequest, Violation]]:
        return [(r, v) for r in self.requests for v in r.violations]

    def expect_violations(self) -> None:
        """This test provokes spec violations on purpose: don't fail it at teardown."""
        self.violations_expected = True

    def requests_to(self, route: str) -> list[RecordedRequest]:
        """Completed requests matching ``"[METHOD ]/template"`` (or a path or glob)."""
        check = self._route_check(route)
        return [r for r in self.requests if r.done and check(r)]

    @staticmethod
    def _route_check(route: str) -> Callable[[RecordedRequest], bool]:
        method, pattern = parse_pattern(route)
        return lambda r: route_matches(pattern, method, r.method, r.path, r.route)

    def messages_sent_to(self, channel_id: int | FakeChannel) -> list[dict[str, Any]]:
        """Messages the bot created in a channel (by any route), current state, oldest first."""
        bot_id = str(self.world.bot.id)
        channel = getattr(channel_id, "id", channel_id)
        return [m for m in self.messages.in_channel(channel) if m["author"]["id"] == bot_id]

    def interaction_responses(
        self, interaction: ix.FakeInteraction | int | None = None
    ) -> list[RecordedRequest]:
        """Callback and follow-up/edit requests, for one interaction or for all."""
        if interaction is None:
            return [
                r
                for r in self.requests
                if r.route.startswith(("/interactions/", "/webhooks/{webhook_id}/"))
            ]
        inter = (
            interaction
            if isinstance(interaction, ix.FakeInteraction)
            else self.interactions[int(interaction)]
        )
        return [
            r
            for r in self.requests
            if r.params.get("interaction_token") == inter.token
            or r.params.get("webhook_token") == inter.token
        ]

    # -- faults ------------------------------------------------------------------------------
    def inject(
        self,
        route_pattern: str | re.Pattern[str],
        *,
        method: str | None = None,
        status: int | None = 429,
        retry_after: float = 0.2,
        global_: bool = False,
        times: int | None = 1,
        delay: float = 0.0,
        code: int | None = None,
        message: str | None = None,
        body: Any = None,
    ) -> Fault:
        """Answer the next ``times`` matching requests with ``status`` (after ``delay`` s).

        ``route_pattern``: a template ("/channels/{channel_id}/messages"), a concrete path,
        a glob ("/channels/*/messages"), a compiled regex; may start with a method
        ("POST /channels/*/messages"). ``status=None`` only delays the request.
        """
        parsed_method, pattern = parse_pattern(route_pattern)
        fault = Fault(
            pattern,
            method=method or parsed_method,
            status=status,
            retry_after=retry_after,
            global_=global_,
            times=times,
            delay=delay,
            code=code,
            message=message,
            body=body,
        )
        self.faults.append(fault)
        return fault

    def inject_server_error(
        self, route_pattern: str, *, status: int = 500, times: int = 1
    ) -> Fault:
        return self.inject(route_pattern, status=status, times=times)

    def inject_forbidden(self, route_pattern: str, *, times: int | None = 1) -> Fault:
        return self.inject(route_pattern, status=403, times=times)

    def inject_delay(self, route_pattern: str, seconds: float, *, times: int | None = 1) -> Fault:
        return self.inject(route_pattern, status=None, delay=seconds, times=times)

    def clear_faults(self) -> None:
        self.faults.clear()

    async def drop_connection(self, code: int = 1006, *, shard_id: int | None = None) -> int:
        """Close the gateway socket(s) with ``code`` (1006: drop TCP, no close frame).

        4007/4009 also make the session non-resumable, as on Discord.
        """
        return await self.gateway.drop(code, shard_id)

    async def invalidate_session(
        self, resumable: bool = False, *, shard_id: int | None = None
    ) -> int:
        """Send op 9 INVALID_SESSION."""
        return await self.gateway.send_op(INVALID_SESSION, resumable, shard_id)

    async def request_reconnect(self, *, shard_id: int | None = None) -> int:
        """Send op 7 RECONNECT (the client should RESUME)."""
        return await self.gateway.send_op(RECONNECT, None, shard_id)

    # -- REST pipeline -----------------------------------------------------------------------
    async def _handle_rest(self, request: web.Request) -> web.StreamResponse:
        rec = await self._record(request)
        try:
            status, body, headers = await self._respond(request, rec)
        except ApiError as err:
            if err.protocol:
                rec.violations.append(Violation("", err.message, str(err.code), "protocol"))
            status, body, headers = err.status, err.body(), {}
        if rec.route and status != 429:
            headers = {**self._rate_limit_headers(rec), **headers}
        rec.status, rec.response = status, body
        if self.spec is not None and self.check_responses and rec.ok and body is not None:
            for v in self.spec.validate_response(rec.method, rec.route, status, body):
                self.response_violations.append((rec, v))
        rec.completed_at = time.monotonic()
        self.notify()
        if status == 204 or body is None:
            return web.Response(status=status, headers=headers)
        # Exactly "application/json": discord.py compares the header verbatim, and
        # aiohttp's json_response would add "; charset=utf-8".
        headers["Content-Type"] = "application/json"
        return web.Response(status=status, body=json.dumps(body).encode(), headers=headers)

    async def _record(self, request: web.Request) -> RecordedRequest:
        path = "/" + request.match_info["tail"]
        matched = self.routes.match(path)
        if matched is None and self.spec is not None:
            matched = self.spec.routes.match(path)
        route, params = matched if matched else ("", {})
        body: Any = None
        bad_json = False
        files: list[RecordedFile] = []
        ctype = request.headers.get("Content-Type", "")
        if ctype.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue  # nested multipart: Discord does not use it
                if part.name == "payload_json":
                    body = json.loads(await part.text())
                else:
                    data = await part.read()
                    ctype_part = part.headers.get("Content-Type")
                    files.append(RecordedFile(part.name or "", part.filename, ctype_part, data))
        elif request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body, bad_json = raw.decode(errors="replace"), True
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        rec = RecordedRequest(
            request.method, path, route, params, dict(request.query), body, files, headers
        )
        if bad_json:
            rec.violations.append(Violation("", "body is not valid JSON", "50109", "protocol"))
        self.requests.append(rec)
        return rec

    async def _respond(
        self, request: web.Request, rec: RecordedRequest
    ) -> tuple[int, Any, dict[str, str]]:
        auth = request.headers.get("Authorization", "")
        if not rec.path.startswith(_UNAUTHENTICATED_PREFIXES) and not (
            auth.startswith("Bot ") and (self.token is None or auth == f"Bot {self.token}")
        ):
            return 401, {"message": "401: Unauthorized", "code": 0}, {}
        if rec.route and rec.json is not None and not rec.violations:
            if self.spec is not None:
                rec.violations += self.spec.validate_request(rec.method, rec.route, rec.json)
            rec.violations += limit_violations(rec.method, rec.route, rec.json)
        fault = next((f for f in self.faults if f.matches(rec.method, rec.path, rec.route)), None)
        if fault is not None:
            fault.fire()
            rec.fault = fault
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                return fault.response(self._bucket_hash(rec))
        if rec.violations and self.reject_invalid:
            return 400, discord_error_body(rec.violations), {}
        handler = self.rest.handlers.get((rec.method, rec.route))
        if handler is None:
            log.warning("stand-in: unknown route %s %s", rec.method, rec.path)
            self.unknown_routes.append(rec)
            return 404, {"message": "404: Not Found", "code": 0}, {}
        status, body = await handler(rec)
        return status, body, {}

    def _bucket_key(self, rec: RecordedRequest) -> str:
        major = [rec.params.get(k) for k in ("channel_id", "guild_id", "webhook_id")]
        return f"{rec.method} {rec.route}:{'+'.join(m for m in major if m)}"

    def _bucket_hash(self, rec: RecordedRequest) -> str:
        return hashlib.sha1(f"{rec.method} {rec.route}".encode()).hexdigest()[:16]

    def _rate_limit_headers(self, rec: RecordedRequest) -> dict[str, str]:
        limit, window = self.rate_limit
        now = time.monotonic()
        state = self._buckets.setdefault(self._bucket_key(rec), [now, 0])
        if now - state[0] >= window:
            state[:] = [now, 0]
        state[1] += 1
        reset_after = max(0.001, window - (now - state[0]))
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(0, limit - int(state[1]))),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": self._bucket_hash(rec),
        }
