"""The realtime side: Meteor DDP over a websocket at ``/websocket``, as Rocket.Chat's streamer speaks it.

Wire facts (design §5, read from Rocket.Chat's ddp-streamer and streamer module):
- on open the server sends ``{"server_id": "0"}``; ``connect`` is answered ``connected`` with a ``session``
  (or ``failed`` with the version it speaks when the client offers none it knows);
- methods are answered ``result`` (with ``result`` or ``error``) followed by ``updated``;
- ``login`` with ``[{"resume": token}]`` answers ``{id, token, tokenExpires: {"$date"}, type: "resume"}``;
- ``sub`` answers ``ready``, or ``nosub`` with an ``error`` (unknown stream, not allowed, not logged in);
  ``unsub`` answers ``nosub`` without error;
- stream events are ``changed`` messages with ``collection`` = stream name and ``fields`` =
  ``{eventName, args}``; ``stream-room-messages`` ``__my_messages__`` carries ``[message, {roomParticipant,
  roomType, roomName}]``, a per-room subscription (eventName = room id) carries ``[message]``;
- keepalive: the server pings after ``ping_interval`` seconds without traffic and closes the socket when
  nothing comes back within ``ping_timeout``; a client ``ping`` is answered ``pong`` echoing its ``id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from .state import Room, User, ddp_message, random_id

if TYPE_CHECKING:
    from .server import FakeRocketChat

LOGGED_OUT_REASON = "You've been logged out by the server. Please log in again."
TOKEN_LIFETIME_MS = 90 * 24 * 3600 * 1000  # Accounts_LoginExpiration default: 90 days


def meteor_error(error: Any, reason: str | None = None) -> dict[str, Any]:
    """A Meteor.Error as DDP serialises it (``message`` is ``"reason [error]"``, or ``"[error]"`` alone)."""
    payload: dict[str, Any] = {"isClientSafe": True, "error": error}
    if reason is not None:
        payload["reason"] = reason
    payload["message"] = f"{reason} [{error}]" if reason is not None else f"[{error}]"
    payload["errorType"] = "Meteor.Error"
    return payload


@dataclass
class Subscription:
    id: str
    stream: str
    event: str


@dataclass
class DDPSession:
    """One websocket client."""

    ws: web.WebSocketResponse
    session_id: str = field(default_factory=random_id)
    user: User | None = None
    token: str | None = None
    connected: bool = False
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    last_heard: float = 0.0
    received: list[dict[str, Any]] = field(default_factory=list)  # every frame the client sent, for tests

    async def send(self, payload: dict[str, Any]) -> None:
        if not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_str(json.dumps(payload))


class DDPServer:
    """Accepts websockets, runs the DDP conversation, and fans stream events out to subscribers."""

    def __init__(self, fake: FakeRocketChat) -> None:
        self.fake = fake
        self.sessions: list[DDPSession] = []
        # Called once a subscription is registered, before its ``ready`` is sent: a test can have events reach the
        # client then, as Rocket.Chat may emit them in that interval.
        self.before_ready: Callable[[DDPSession, Subscription], Awaitable[None]] | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)  # websocket-level pings are answered, as Node servers do
        await ws.prepare(request)
        loop = asyncio.get_running_loop()
        session = DDPSession(ws, last_heard=loop.time())
        self.sessions.append(session)
        self.fake.log_ddp("open", session, {})
        keepalive = asyncio.create_task(self._keepalive(session))
        try:
            await session.send({"server_id": "0"})
            async for frame in ws:
                if frame.type != WSMsgType.TEXT:
                    continue
                session.last_heard = loop.time()
                try:
                    payload = json.loads(frame.data)
                except ValueError:
                    await session.send({"msg": "error", "reason": "Bad request", "offendingMessage": frame.data})
                    continue
                session.received.append(payload)
                await self._dispatch(session, payload)
        finally:
            keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keepalive
            if session in self.sessions:
                self.sessions.remove(session)
            self.fake.log_ddp("close", session, {})
        return ws

    async def _keepalive(self, session: DDPSession) -> None:
        """Ping an idle client; close it when it stays silent (Meteor's heartbeat)."""
        loop = asyncio.get_running_loop()
        while not session.ws.closed:
            idle = loop.time() - session.last_heard
            wait = self.fake.ping_interval - idle
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            pinged_at = loop.time()
            await session.send({"msg": "ping"})
            await asyncio.sleep(self.fake.ping_timeout)
            if session.last_heard < pinged_at:
                self.fake.log_ddp("timeout", session, {})
                await session.ws.close()
                return

    async def drop_all(self) -> None:
        for session in list(self.sessions):
            await session.ws.close()

    async def close_sessions_of(self, user: User, token: str | None = None) -> None:
        for session in list(self.sessions):
            if session.user is user and (token is None or session.token == token):
                await session.ws.close()

    # -- inbound --------------------------------------------------------------------------------------------------
    async def _dispatch(self, session: DDPSession, payload: dict[str, Any]) -> None:
        kind = payload.get("msg")
        self.fake.log_ddp(str(kind), session, payload)
        if kind == "connect":
            offered = [payload.get("version"), *(payload.get("support") or [])]
            if "1" not in offered:
                await session.send({"msg": "failed", "version": "1"})
                await session.ws.close()
                return
            session.connected = True
            await session.send({"msg": "connected", "session": session.session_id})
        elif kind == "ping":
            if self.fake.faults.ddp_pongs_withheld:
                return
            pong: dict[str, Any] = {"msg": "pong"}
            if "id" in payload:
                pong["id"] = payload["id"]
            await session.send(pong)
        elif kind == "pong":
            return
        elif not session.connected:
            await session.send({"msg": "error", "reason": "Must connect first", "offendingMessage": payload})
        elif kind == "method":
            await self._method(session, payload)
        elif kind == "sub":
            await self._sub(session, payload)
        elif kind == "unsub":
            session.subscriptions.pop(str(payload.get("id")), None)
            await session.send({"msg": "nosub", "id": payload.get("id")})
        else:
            await session.send({"msg": "error", "reason": "Bad request", "offendingMessage": payload})

    async def _method(self, session: DDPSession, payload: dict[str, Any]) -> None:
        call_id = payload.get("id")
        name = payload.get("method")
        params = payload.get("params") or []
        try:
            result = await self._call(session, str(name), params)
            answer: dict[str, Any] = {"msg": "result", "id": call_id}
            if result is not None:
                answer["result"] = result
        except MethodError as error:
            answer = {"msg": "result", "id": call_id, "error": error.payload}
        await session.send(answer)
        await session.send({"msg": "updated", "methods": [call_id]})

    async def _call(self, session: DDPSession, name: str, params: list[Any]) -> Any:
        if name == "login":
            return self._login(session, params[0] if params else {})
        if name == "logout":
            session.user = session.token = None
            return None
        if session.user is None:
            raise MethodError(meteor_error("error-not-allowed", "Not allowed"))
        if name == "rooms/get":
            rooms = [r for r in self.fake.store.rooms.values() if session.user.id in r.members]
            return [r.document(self.fake.store.users) for r in rooms]
        if name == "sendMessage":
            fields = params[0] if params else {}
            room = self.fake.store.find_room(str(fields.get("rid", "")))
            if room is None or session.user.id not in room.members:
                raise MethodError(meteor_error("error-not-allowed", "Not allowed"))
            message = await self.fake.deliver(
                session.user, room, str(fields.get("msg", "")), message_id=fields.get("_id"), tmid=fields.get("tmid")
            )
            return ddp_message(message)
        raise MethodError(meteor_error(404, f"Method '{name}' not found"))

    def _login(self, session: DDPSession, credentials: dict[str, Any]) -> dict[str, Any]:
        store = self.fake.store
        user: User | None = None
        if self.fake.faults.logins_refused:
            raise MethodError(meteor_error(403, "Login forbidden"))  # Accounts.validateLoginAttempt refusal
        if "resume" in credentials:
            user = store.user_by_resume_token(str(credentials["resume"]))
            if user is None:
                raise MethodError(meteor_error(403, LOGGED_OUT_REASON))
            token = str(credentials["resume"])
        elif "password" in credentials and isinstance(credentials.get("user"), dict):
            user = store.find_user(str(credentials["user"].get("username", "")))
            digest = credentials["password"].get("digest") if isinstance(credentials["password"], dict) else None
            if user is None or user.password is None or digest != hashlib.sha256(user.password.encode()).hexdigest():
                raise MethodError(meteor_error(403, "Incorrect password"))
            token = store.issue_token(user)
        else:
            raise MethodError(meteor_error(400, "Unrecognized options for login request"))
        session.user, session.token = user, token
        return {
            "id": user.id,
            "token": token,
            "tokenExpires": {"$date": store.now_ms() + TOKEN_LIFETIME_MS},
            "type": "resume" if "resume" in credentials else "password",
        }

    async def _sub(self, session: DDPSession, payload: dict[str, Any]) -> None:
        sub_id = str(payload.get("id"))
        name = str(payload.get("name"))
        params = payload.get("params") or []
        event = str(params[0]) if params else ""
        error: dict[str, Any] | None = None
        if name not in ("stream-room-messages", "stream-notify-user", "stream-notify-room"):
            error = meteor_error(404, f"Subscription '{name}' not found")
        elif session.user is None:
            error = meteor_error("not-allowed")  # the streamer's isReadAllowed refusal
        elif name == "stream-notify-user" and not event.startswith(f"{session.user.id}/"):
            error = meteor_error("not-allowed")  # the streamer's isReadAllowed refusal
        elif name == "stream-room-messages" and event != "__my_messages__":
            room = self.fake.store.find_room(event)
            if room is None or (room.type != "c" and session.user.id not in room.members):
                error = meteor_error("not-allowed")  # the streamer's isReadAllowed refusal
        if error is not None:
            await session.send({"msg": "nosub", "id": sub_id, "error": error})
            return
        session.subscriptions[sub_id] = subscription = Subscription(sub_id, name, event)
        if self.before_ready is not None:
            await self.before_ready(session, subscription)
        await session.send({"msg": "ready", "subs": [sub_id]})

    # -- outbound -------------------------------------------------------------------------------------------------
    async def broadcast_message(self, message: dict[str, Any], room: Room) -> None:
        """Emit a new or changed message to every subscriber allowed to see it."""
        wire = ddp_message(message)
        for session in list(self.sessions):
            user = session.user
            if user is None:
                continue
            member = user.id in room.members
            for sub in list(session.subscriptions.values()):
                if sub.stream != "stream-room-messages":
                    continue
                if sub.event == "__my_messages__":
                    if not member and room.type != "c":
                        continue
                    extra = {
                        "roomParticipant": member,
                        "roomType": room.type,
                        "roomName": self.fake.store.room_label(room, user),
                    }
                    args: list[Any] = [wire, extra]
                elif sub.event == room.id:
                    args = [wire]
                else:
                    continue
                await session.send(_changed(sub.stream, sub.event, args))

    async def notify_user(self, user: User, event: str, args: list[Any]) -> None:
        """Emit ``stream-notify-user`` ``<uid>/<event>`` (e.g. subscriptions-changed) to that user's sessions."""
        name = f"{user.id}/{event}"
        for session in list(self.sessions):
            if session.user is user and any(
                s.stream == "stream-notify-user" and s.event == name for s in session.subscriptions.values()
            ):
                await session.send(_changed("stream-notify-user", name, args))


def _changed(stream: str, event: str, args: list[Any]) -> dict[str, Any]:
    return {"msg": "changed", "collection": stream, "id": "id", "fields": {"eventName": event, "args": args}}


class MethodError(Exception):
    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("reason"))
        self.payload = payload
