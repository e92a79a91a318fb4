"""Rocket.Chat's realtime API: Meteor DDP over a websocket at /websocket, with aiohttp.

One connection at a time: connect, `login` by resume token, subscribe to `stream-room-messages` `__my_messages__`
and to the bot's `<uid>/subscriptions-changed` notifications, then read. The server's pings are answered; an idle
server is pinged, and a ping left unanswered closes the socket. Whatever ends a connection, the next attempt waits a
jittered exponential backoff (reset once a connection got ready). `on_ready` runs after every (re)subscription:
that is where catch-up starts. Events are handed to `on_event` without waiting, so pings are never starved.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import itertools
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import aiohttp

from chatbot.metrics import Metrics
from chatbot.transport.rocketchat.rest import backoff

log = logging.getLogger(__name__)

EventHandler = Callable[[str, dict[str, Any]], None]  # (collection, fields)
ReadyHandler = Callable[[], Coroutine[Any, Any, Any]]
TokenProvider = Callable[[bool], Awaitable[str]]  # argument: the last token was refused, get a fresh one


class DdpError(Exception):
    pass


class DdpAuthError(DdpError):
    """The server refused the resume token."""


class State(enum.StrEnum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    READY = "ready"
    STOPPED = "stopped"


def websocket_url(server_url: str) -> str:
    base = server_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://") :] + "/websocket"
    if base.startswith("http://"):
        return "ws://" + base[len("http://") :] + "/websocket"
    return base + "/websocket"


class DdpClient:
    def __init__(
        self,
        server_url: str,
        token: TokenProvider,
        on_event: EventHandler,
        on_ready: ReadyHandler,
        *,
        ping_interval: float = 20.0,
        reply_timeout: float = 15.0,
        backoff_base: float = 0.2,
        backoff_cap: float = 15.0,
        metrics: Metrics | None = None,
    ) -> None:
        self.url = websocket_url(server_url)
        self.token = token
        self.on_event = on_event
        self.on_ready = on_ready
        self.ping_interval = ping_interval
        self.reply_timeout = reply_timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.state = State.DISCONNECTED
        self.user_id: str | None = None
        self.connections = 0  # how many times a connection got ready (tests and /healthz read it)
        self._ids = itertools.count(1)
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._stopping = asyncio.Event()
        self._token_refused = False
        self.metrics = metrics or Metrics()
        self.metrics.watch_websocket(lambda: self.state.value)

    @property
    def connected(self) -> bool:
        return self.state is State.READY

    async def run(self) -> None:
        """Connect and reconnect until `stop()`."""
        failures = 0
        async with aiohttp.ClientSession() as http:
            while not self._stopping.is_set():
                self.state = State.CONNECTING
                ready_before = self.connections
                try:
                    await self._session(http)
                except DdpAuthError:
                    log.error("DDP login refused; retrying with a fresh token")
                    self._token_refused = True
                except (aiohttp.ClientError, OSError, DdpError, TimeoutError) as error:
                    log.warning("DDP connection lost: %r", error)
                finally:
                    self._ws = None
                    if self.state is not State.STOPPED:
                        self.state = State.DISCONNECTED
                if self._stopping.is_set():
                    break
                # A connection that got ready and was then lost (it always ends in an error) starts the backoff
                # again: repeated drops of working connections must not make the bot wait longer each time.
                failures = 0 if self.connections > ready_before else failures + 1
                delay = backoff(failures + 1, self.backoff_base, self.backoff_cap)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
        self.state = State.STOPPED

    async def stop(self) -> None:
        self._stopping.set()
        self.state = State.STOPPED
        if self._ws is not None:
            await self._ws.close()

    async def _session(self, http: aiohttp.ClientSession) -> None:
        """One connection, from handshake to close (`connections` counts it once it is ready)."""
        async with http.ws_connect(self.url, heartbeat=None, autoping=True, max_msg_size=0) as ws:
            self._ws = ws
            await self._send({"msg": "connect", "version": "1", "support": ["1", "pre2", "pre1"]})
            await self._expect(lambda m: m.get("msg") in ("connected", "failed"))
            token = await self.token(self._token_refused)
            login_id = await self._method("login", [{"resume": token}])
            reply = await self._expect(lambda m: m.get("msg") == "result" and m.get("id") == login_id)
            if "error" in reply:
                raise DdpAuthError(str(reply["error"]))
            self._token_refused = False
            self.user_id = reply["result"]["id"]
            messages = await self._sub(
                "stream-room-messages", ["__my_messages__", {"useCollection": False, "args": []}]
            )
            notifications = await self._sub(
                "stream-notify-user", [f"{self.user_id}/subscriptions-changed", {"useCollection": False, "args": []}]
            )
            pending = {messages, notifications}
            while pending:
                message = await self._expect(lambda m: m.get("msg") in ("ready", "nosub"))
                if message["msg"] == "nosub" and message.get("id") == messages:
                    raise DdpError(f"subscription refused: {message.get('error')}")
                if message["msg"] == "nosub" and message.get("id") == notifications:
                    # Not vital: rooms are also learnt from the messages themselves and at every catch-up.
                    log.warning("subscriptions-changed refused: %s", message.get("error"))
                    pending.discard(notifications)
                pending -= set(message.get("subs", []))
            self.state = State.READY
            self.connections += 1
            self.metrics.websocket_ready(self.connections)
            log.info("DDP ready (connection %d)", self.connections)
            ready_task = asyncio.create_task(self.on_ready())
            try:
                await self._read_forever()
            finally:
                if not ready_task.done():
                    ready_task.cancel()

    async def _read_forever(self) -> None:
        ping_pending: str | None = None
        while True:
            message = await self._receive(self.ping_interval)
            if message is None:  # idle: ping the server; a second silent interval means the link is dead
                if ping_pending is not None:
                    raise DdpError("server did not answer our ping")
                ping_pending = f"p{next(self._ids)}"
                await self._send({"msg": "ping", "id": ping_pending})
                continue
            ping_pending = None  # anything the server says proves the link is alive
            self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("msg")
        if kind == "changed":
            try:
                self.on_event(str(message.get("collection")), message.get("fields") or {})
            except Exception:
                log.exception("DDP event handler failed")

    async def _receive(self, wait: float) -> dict[str, Any] | None:
        """The next DDP message (server pings answered here), or None after `wait` seconds of silence."""
        assert self._ws is not None
        while True:
            try:
                frame = await self._ws.receive(timeout=wait)
            except TimeoutError:
                return None
            if frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
                raise DdpError("websocket closed by the server")
            if frame.type is aiohttp.WSMsgType.ERROR:
                raise DdpError(f"websocket error: {self._ws.exception()!r}")
            if frame.type is not aiohttp.WSMsgType.TEXT:
                continue
            try:
                message = json.loads(frame.data)
            except json.JSONDecodeError:
                log.warning("DDP: ignoring a frame that is not JSON")
                continue
            if not isinstance(message, dict):
                continue
            if message.get("msg") == "ping":
                pong: dict[str, Any] = {"msg": "pong"}
                if "id" in message:
                    pong["id"] = message["id"]
                await self._send(pong)
                continue
            return message

    async def _expect(self, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Wait for a reply during the handshake, still answering pings and passing on events meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.reply_timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise DdpError("no reply from the server in time")
            message = await self._receive(remaining)
            if message is None:
                continue
            if message.get("msg") == "failed":
                raise DdpError(f"DDP version refused: {message}")
            if wanted(message):
                return message
            self._dispatch(message)

    async def _method(self, name: str, params: list[Any]) -> str:
        call_id = str(next(self._ids))
        await self._send({"msg": "method", "method": name, "params": params, "id": call_id})
        return call_id

    async def _sub(self, name: str, params: list[Any]) -> str:
        sub_id = f"s{next(self._ids)}"
        await self._send({"msg": "sub", "id": sub_id, "name": name, "params": params})
        return sub_id

    async def _send(self, message: dict[str, Any]) -> None:
        if self._ws is None:
            raise DdpError("not connected")
        await self._ws.send_str(json.dumps(message))
