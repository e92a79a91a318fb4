"""Our DDP client against the fake server: login by resume token, subscriptions, keepalive both ways, reconnects."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from chatbot.transport.rocketchat.ddp import DdpClient, websocket_url
from tests.fakerc.fixtures import fake_rc, populated  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.rc_support import wait_for


class Listener:
    def __init__(self, fake: FakeRocketChat, *, ping_interval: float = 20.0) -> None:
        self.fake = fake
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.ready = 0
        self.token_calls: list[bool] = []
        self.client = DdpClient(
            fake.url,
            self.token,
            lambda c, f: self.events.append((c, f)),
            self.on_ready,
            ping_interval=ping_interval,
            backoff_base=0.01,
            backoff_cap=0.05,
        )

    async def token(self, refused: bool) -> str:
        self.token_calls.append(refused)
        if refused:
            self.fake.bot_token = self.fake.token_for("bot")
        return self.fake.bot_token

    async def on_ready(self) -> None:
        self.ready += 1

    def messages(self) -> list[str]:
        return [f["args"][0]["msg"] for c, f in self.events if c == "stream-room-messages"]


@contextlib.asynccontextmanager
async def listening(fake: FakeRocketChat, **kwargs: Any) -> AsyncIterator[Listener]:
    listener = Listener(fake, **kwargs)
    task = asyncio.create_task(listener.client.run())
    try:
        await wait_for(lambda: listener.client.connected, within=10, what="DDP ready")
        yield listener
    finally:
        await listener.client.stop()
        await asyncio.wait_for(task, 10)


def test_websocket_url() -> None:
    assert websocket_url("https://chat.example.org/") == "wss://chat.example.org/websocket"
    assert websocket_url("http://127.0.0.1:3000") == "ws://127.0.0.1:3000/websocket"


async def test_receives_messages_and_answers_server_pings(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    async with listening(fake_rc) as listener:
        await fake_rc.post_as("alice", "cercle-tech", "bonjour")
        await wait_for(lambda: listener.messages() == ["bonjour"], within=5, what="the message")
        opened = sum(1 for kind, _, _ in fake_rc.ddp_log if kind == "open")
        await asyncio.sleep(1.6)  # three of the fake's 0.5 s ping intervals: a silent client would be closed
        assert listener.client.connected and listener.client.connections == 1
        assert not [kind for kind, _, _ in fake_rc.ddp_log if kind == "timeout"]
        assert opened == 1
        session = fake_rc.sessions[0]
        assert any(frame.get("msg") == "pong" for frame in session.received)
        login = next(f for f in session.received if f.get("method") == "login")
        assert login["params"] == [{"resume": fake_rc.bot_token}]


async def test_pings_an_idle_server_and_reconnects_when_it_stays_silent() -> None:
    async with FakeRocketChat(ping_interval=60, ping_timeout=60) as fake:
        await populated(fake)
        async with listening(fake, ping_interval=0.2) as listener:
            await wait_for(
                lambda: any(f.get("msg") == "ping" for f in fake.sessions[0].received), within=5, what="a ping"
            )
            assert listener.client.connections == 1
            fake.withhold_pongs()
            await wait_for(lambda: listener.client.connections >= 2, within=5, what="a reconnect")
            fake.withhold_pongs(False)


async def test_reconnects_and_runs_on_ready_again_after_a_drop(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    async with listening(fake_rc) as listener:
        await fake_rc.drop_websockets()
        await wait_for(lambda: listener.client.connections == 2 and listener.ready == 2, within=5, what="reconnect")
        await fake_rc.post_as("bob", "cercle-tech", "après")
        await wait_for(lambda: "après" in listener.messages(), within=5, what="a message after reconnecting")


async def test_the_backoff_starts_again_after_each_connection_that_got_ready(
    fake_rc: FakeRocketChat,  # noqa: F811
    monkeypatch: Any,
) -> None:
    """A lost connection always ends in an error; one that got ready must not count as a failed attempt, or repeated
    drops make the bot wait longer each time (up to the cap) while commands pile up. Failed attempts do count."""
    from chatbot.transport.rocketchat import ddp

    attempts: list[int] = []

    def recorded(attempt: int, base: float, cap: float) -> float:
        attempts.append(attempt)
        return 0.01

    monkeypatch.setattr(ddp, "backoff", recorded)
    async with listening(fake_rc) as listener:
        for connection in range(2, 7):
            await fake_rc.drop_websockets()
            await wait_for(lambda n=connection: listener.client.connections == n, within=5, what="reconnect")
        assert attempts == [1] * 5
        fake_rc.refuse_logins()
        await fake_rc.drop_websockets()
        await wait_for(lambda: len(attempts) >= 8, within=5, what="failed attempts")
        assert attempts[5:8] == [1, 2, 3]
        fake_rc.refuse_logins(False)
        await wait_for(lambda: listener.client.connections == 7, within=5, what="reconnect")


async def test_expired_token_is_replaced(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    async with listening(fake_rc) as listener:
        await fake_rc.expire_token(fake_rc.bot_token)
        await wait_for(lambda: listener.client.connections == 2, within=5, what="a login with a fresh token")
        assert True in listener.token_calls


async def test_subscription_changes_arrive(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    fake_rc.add_channel("nouveau", ["alice"])
    async with listening(fake_rc) as listener:
        await fake_rc.add_member("nouveau", "bot")
        await wait_for(
            lambda: any(c == "stream-notify-user" and f["args"][0] == "inserted" for c, f in listener.events),
            within=5,
            what="subscriptions-changed",
        )
