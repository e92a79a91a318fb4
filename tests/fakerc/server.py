"""FakeRocketChat: an in-process Rocket.Chat on 127.0.0.1 (random port) speaking the real REST and DDP protocols.

Use it as an async context manager::

    async with FakeRocketChat() as fake:
        bot = fake.add_user("bot", roles=["bot"], password="s3cret")
        token = fake.token_for("bot")
        fake.add_channel("cercle-tech", members=["bot", "alice"])
        await fake.post_as("alice", "cercle-tech", "/contrib 3h tech")
        ...
        fake.messages_in("cercle-tech")  # what was posted, oldest first

Every REST request is logged (``fake.requests``) and validated against the official OpenAPI files
(``fake.violations``, see ``openapi.py``); faults are injected through ``fake.faults`` and a few helpers below.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from . import rest
from .ddp import DDPServer, DDPSession
from .faults import Faults, RateLimitAnswer
from .openapi import SpecValidator, Violation, shared_validator
from .state import Room, Store, User, rest_message


@dataclass
class LoggedRequest:
    method: str
    path: str  # e.g. "/api/v1/chat.sendMessage"
    route: str  # e.g. "chat.sendMessage"
    query: dict[str, str]
    body: Any
    user_id: str | None
    status: int = 0
    at: float = field(default_factory=time.monotonic)


class FakeRocketChat:
    """The fake server. Attributes tests read: ``store``, ``requests``, ``violations``, ``faults``, ``ddp``."""

    def __init__(
        self,
        *,
        ping_interval: float = 25.0,
        ping_timeout: float = 15.0,
        validate: bool = True,
        version: str = rest.SERVER_VERSION,
    ) -> None:
        self.store = Store()
        self.faults = Faults()
        self.ddp = DDPServer(self)
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.version = version
        self.settings: dict[str, Any] = {
            "Message_AllowUnrecognizedSlashCommand": False,
            "Site_Name": "Fake Rocket.Chat",
            "Threads_enabled": True,
        }
        self.requests: list[LoggedRequest] = []
        self.ddp_log: list[tuple[str, str, dict[str, Any]]] = []  # (kind, session id, frame)
        self.violations: list[Violation] = []
        self.validator: SpecValidator | None = shared_validator() if validate else None
        self.bot_token = ""  # set by fixtures that create a bot user
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/websocket"

    async def start(self) -> FakeRocketChat:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/websocket", self.ddp.handle)
        app.router.add_get("/api/info", self._info)
        app.router.add_route("*", "/api/v1/{route}", self._rest)
        app.router.add_route("*", "/api/v1/{route}/{tail:.+}", self._rest)  # rooms.media/{rid}, …/{rid}/{fileId}
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        await self.ddp.drop_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeRocketChat:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- setting the scene ----------------------------------------------------------------------------------------
    def add_user(
        self, username: str, *, name: str | None = None, roles: list[str] | None = None, password: str | None = None
    ) -> User:
        return self.store.add_user(username, name=name, roles=roles, password=password)

    def token_for(self, username: str) -> str:
        """A new personal access token for that user (as the admin UI creates one)."""
        return self.store.issue_token(self.store.user(username))

    def add_channel(self, name: str, members: list[str]) -> Room:
        return self.store.add_room(name, "c", members)

    def add_group(self, name: str, members: list[str]) -> Room:
        return self.store.add_room(name, "p", members)

    def add_dm(self, a: str, b: str) -> Room:
        return self.store.dm(a, b)

    async def add_member(self, room_ref: str, username: str) -> None:
        """Add someone to a room; they get ``subscriptions-changed`` (``inserted``) and a ``uj`` system message."""
        room = self.store.room(room_ref)
        user = self.store.user(username)
        if user.id in room.members:
            return
        room.members.append(user.id)
        await self.system_message(room.id, username, "uj")
        await self.ddp.notify_user(user, "subscriptions-changed", ["inserted", self._subscription_of(room, user)])

    async def remove_member(self, room_ref: str, username: str) -> None:
        """Remove someone from a room; they get ``subscriptions-changed`` (``removed``) and a ``ul`` message."""
        room = self.store.room(room_ref)
        user = self.store.user(username)
        if user.id not in room.members:
            return
        await self.system_message(room.id, username, "ul")
        room.members.remove(user.id)
        await self.ddp.notify_user(user, "subscriptions-changed", ["removed", self._subscription_of(room, user)])

    def _subscription_of(self, room: Room, user: User) -> dict[str, Any]:
        return {
            "_id": f"{room.id}{user.id}",
            "rid": room.id,
            "t": room.type,
            "name": self.store.room_label(room, user),
            "u": {"_id": user.id, "username": user.username},
        }

    # -- traffic as a member makes it -----------------------------------------------------------------------------
    async def post_as(
        self, username: str, room_ref: str, text: str, tmid: str | None = None, *, ts: int | None = None
    ) -> dict[str, Any]:
        """A member writes in a room (``"alice,bot"`` names a DM); stored and broadcast. Returns the REST form.
        ``ts`` (epoch ms) stamps it earlier than now, as a server instance whose clock is behind would."""
        user = self.store.user(username)
        room = self.store.room(room_ref)
        if room.type != "c" and user.id not in room.members:  # public channels accept non-members' messages
            raise ValueError(f"{username} is not a member of {room_ref}: Rocket.Chat would refuse the message")
        message = await self.deliver(user, room, text, tmid=tmid, ts=ts)
        return rest_message(message)

    async def react_as(self, username: str, message_id: str, emoji: str, add: bool = True) -> None:
        await self.react(self.store.user(username), self.store.messages[message_id], emoji, add)

    async def edit_as(self, username: str, message_id: str, text: str) -> None:
        await self.edit(self.store.user(username), self.store.messages[message_id], text)

    async def system_message(self, room_ref: str, username: str, kind: str = "uj") -> dict[str, Any]:
        """A system message (``t`` set: ``uj`` user joined, ``ul`` left, ``au`` added…), broadcast like any other."""
        user = self.store.user(username)
        room = self.store.room(room_ref)
        message = self.store.insert_message(user, room, username, system_type=kind)
        await self.ddp.broadcast_message(message, room)
        return rest_message(message)

    # -- shared by REST, DDP and the helpers ----------------------------------------------------------------------
    async def deliver(
        self,
        user: User,
        room: Room,
        text: str,
        *,
        message_id: str | None = None,
        tmid: str | None = None,
        ts: int | None = None,
    ) -> dict[str, Any]:
        message = self.store.insert_message(user, room, text, message_id=message_id, tmid=tmid, ts=ts)
        await self.ddp.broadcast_message(message, room)
        if message.get("tmid"):  # the parent's thread counters changed: Rocket.Chat re-emits it
            await self.ddp.broadcast_message(self.store.messages[message["tmid"]], room)
        return message

    async def react(self, user: User, message: dict[str, Any], emoji: str, should_react: bool | None) -> None:
        if self.store.set_reaction(message, user, emoji, should_react):
            await self.ddp.broadcast_message(message, self.store.rooms[message["rid"]])

    async def edit(self, user: User, message: dict[str, Any], text: str) -> None:
        self.store.edit(message, user, text)
        await self.ddp.broadcast_message(message, self.store.rooms[message["rid"]])

    # -- what happened --------------------------------------------------------------------------------------------
    def messages_in(self, room_ref: str, *, by: str | None = None) -> list[dict[str, Any]]:
        """Messages of a room, oldest first, REST form; ``by`` keeps one author's (e.g. the bot's)."""
        room = self.store.room(room_ref)
        messages = [self.store.messages[i] for i in self.store.room_messages[room.id]]
        if by is not None:
            author = self.store.user(by)
            messages = [m for m in messages if m["u"]["_id"] == author.id]
        return [rest_message(m) for m in messages]

    def requests_to(self, route: str) -> list[LoggedRequest]:
        return [r for r in self.requests if r.route == route]

    @property
    def sessions(self) -> list[DDPSession]:
        return list(self.ddp.sessions)

    def log_ddp(self, kind: str, session: DDPSession, frame: dict[str, Any]) -> None:
        self.ddp_log.append((kind, session.session_id, frame))

    # -- faults ---------------------------------------------------------------------------------------------------
    async def drop_websockets(self) -> None:
        """Close every websocket now (a restart or a proxy timeout, as the bot sees it)."""
        await self.ddp.drop_all()

    def refuse_logins(self, refused: bool = True) -> None:
        self.faults.logins_refused = refused

    async def expire_token(self, token: str) -> None:
        """The token stops working: resume logins fail (403), REST answers 401; sessions using it are closed."""
        for user in self.store.users.values():
            if token in user.tokens:
                user.tokens.discard(token)
                await self.ddp.close_sessions_of(user, token)

    def withhold_pongs(self, withheld: bool = True) -> None:
        """Stop (or resume) answering the client's DDP pings."""
        self.faults.ddp_pongs_withheld = withheld

    # -- HTTP plumbing --------------------------------------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == "/websocket":
            response: web.StreamResponse = await handler(request)
            return response
        raw = await request.read()
        route = request.match_info.get("route", request.path.rsplit("/", 1)[-1])
        user_id = request.headers.get("X-User-Id")
        body: Any = None
        if raw and request.content_type.startswith("multipart/"):
            body = {"multipart": len(raw)}  # parsed by the route itself (rest.multipart_fields); logged by size
        elif raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        logged = LoggedRequest(request.method, request.path, route, dict(request.query), body, user_id)
        self.requests.append(logged)
        response = await self._answer(request, route, raw, logged)
        logged.status = response.status
        return response

    async def _answer(self, request: web.Request, route: str, raw: bytes, logged: LoggedRequest) -> web.Response:
        delay = self.faults.delay_for(route)
        if delay:
            await asyncio.sleep(delay)
        if self.validator is not None:
            found = self.validator.validate(request, raw)
            if found:
                self.violations.extend(found)
                return _json(
                    400,
                    {
                        "success": False,
                        "error": "; ".join(v.message for v in found)[:2000],
                        "errorType": "invalid-params",
                    },
                )
        status = self.faults.take_status(route)
        if status is not None:
            return _json(status, {"success": False, "error": "Internal server error"})
        throttled = self.faults.take_throttle(route)
        if throttled is not None:
            return _too_many(throttled)
        try:
            response = await self._dispatch(request, route, logged, raw)
        except rest.ApiError as error:
            return _json(error.status, error.body)
        lost = self.faults.take_lost_answer(route)
        if lost is not None:  # the work is done, but the client never learns it
            return _json(lost, {"success": False, "error": "Internal server error"})
        gate = self.faults.gate_for(route)
        if gate is not None:
            await gate.wait()
        return response

    async def _info(self, request: web.Request) -> web.Response:
        return _json(200, await rest.server_info(self))

    async def _rest(self, request: web.Request) -> web.Response:
        raise AssertionError("answered by the middleware")  # pragma: no cover

    async def _dispatch(
        self, request: web.Request, route: str, logged: LoggedRequest, raw: bytes = b""
    ) -> web.Response:
        if request.path == "/api/info":
            return await self._info(request)
        spec = rest.ROUTES.get(route)
        if spec is None or spec.method != request.method:
            return _json(404, {"success": False, "error": "Not found", "status": "error"})
        user: User | None = None
        if spec.auth:
            user = self.store.user_by_token(request.headers.get("X-User-Id"), request.headers.get("X-Auth-Token"))
            if user is None:
                raise rest.ApiError(401, NOT_LOGGED_IN_ERROR, status="error", message=rest.NOT_LOGGED_IN)
        client = request.remote or "127.0.0.1"
        limits, over = self.faults.check_limiter(route, client, bool(user and user.is_bot))
        if limits is not None and over:
            return _too_many(limits)
        body = logged.body if isinstance(logged.body, dict) and "multipart" not in logged.body else {}
        tail = request.match_info.get("tail")
        path_params = tail.split("/") if tail else []
        if path_params and not spec.path_params:
            return _json(404, {"success": False, "error": "Not found", "status": "error"})
        call = rest.Call(
            self, user, dict(request.query), body, path_params, raw, request.headers.get("Content-Type", "")
        )
        return _json(200, await spec.handler(call), limits.headers() if limits else None)


NOT_LOGGED_IN_ERROR = "You must be logged in to do this."


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(body, status=status, headers=headers)


def _too_many(answer: RateLimitAnswer) -> web.Response:
    error = (
        "Error, too many requests. Please slow down. You must wait "
        f"{answer.seconds_left()} seconds before trying this endpoint again. [error-too-many-requests]"
    )
    return _json(429, {"success": False, "error": error, "errorType": "error-too-many-requests"}, answer.headers())
