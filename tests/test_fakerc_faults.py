"""Fault injection in the fake Rocket.Chat: dropped sockets, refused and expired logins, 429, 500, delays, pings."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tests.fakerc import FakeRocketChat
from tests.fakerc.fixtures import fake_rc  # noqa: F401


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]


async def get(fake: FakeRocketChat, route: str, user: str = "bot", token: str | None = None) -> Answer:
    account = fake.store.user(user)
    headers = {"X-User-Id": account.id, "X-Auth-Token": token or fake.token_for(user)}
    async with aiohttp.ClientSession() as http, http.get(f"{fake.url}/api/v1/{route}", headers=headers) as response:
        return Answer(response.status, dict(response.headers), await response.json())


async def open_ddp(fake: FakeRocketChat, http: aiohttp.ClientSession, token: str) -> tuple[Any, dict[str, Any]]:
    ws = await http.ws_connect(fake.ws_url)
    await ws.receive_str()  # server_id
    await ws.send_str(json.dumps({"msg": "connect", "version": "1", "support": ["1"]}))
    await ws.receive_str()  # connected
    await ws.send_str(json.dumps({"msg": "method", "method": "login", "id": "1", "params": [{"resume": token}]}))
    result = json.loads(await ws.receive_str())
    await ws.receive_str()  # updated
    return ws, result


async def test_drop_websockets(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    async with aiohttp.ClientSession() as http:
        ws, result = await open_ddp(fake_rc, http, fake_rc.bot_token)
        assert "result" in result and len(fake_rc.sessions) == 1
        await fake_rc.drop_websockets()
        frame = await asyncio.wait_for(ws.receive(), 5)
        assert frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert fake_rc.sessions == []


async def test_refused_logins(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    fake_rc.refuse_logins()
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{fake_rc.url}/api/v1/login", json={"user": "bot", "password": "bot-password"}) as r:
            assert r.status == 401
        ws, result = await open_ddp(fake_rc, http, fake_rc.bot_token)
        assert result["error"]["error"] == 403
        await ws.close()
    fake_rc.refuse_logins(False)
    assert (await get(fake_rc, "me", token=fake_rc.bot_token)).status == 200  # tokens already issued still work


async def test_expired_token(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    async with aiohttp.ClientSession() as http:
        ws, result = await open_ddp(fake_rc, http, fake_rc.bot_token)
        assert result["result"]["id"] == fake_rc.store.user("bot").id
        await fake_rc.expire_token(fake_rc.bot_token)
        frame = await asyncio.wait_for(ws.receive(), 5)  # the server logs the session out
        assert frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        ws, result = await open_ddp(fake_rc, http, fake_rc.bot_token)
        assert result["error"]["reason"] == "You've been logged out by the server. Please log in again."
        await ws.close()
    response = await get(fake_rc, "me", token=fake_rc.bot_token)
    assert response.status == 401
    assert response.body["error"] == "You must be logged in to do this."


async def test_throttle_next_answers_429_with_reset(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    fake_rc.faults.throttle_next("me", 2, reset_in_ms=1500)
    before_ms = time.time() * 1000
    first = await get(fake_rc, "me")
    second = await get(fake_rc, "me")
    third = await get(fake_rc, "me")
    assert [first.status, second.status, third.status] == [429, 429, 200]
    reset = int(first.headers["X-RateLimit-Reset"])
    assert before_ms + 1000 < reset < before_ms + 5000
    assert first.headers["X-RateLimit-Remaining"] == "0" and int(first.headers["X-RateLimit-Limit"]) >= 1
    assert first.body["errorType"] == "error-too-many-requests"
    assert (await get(fake_rc, "subscriptions.get")).status == 200  # other routes unaffected


async def test_emulated_rate_limiter_spares_the_bot_role(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    fake_rc.faults.emulate_rate_limiter(calls=3, window_s=60)
    answers = [await get(fake_rc, "me", user="alice") for _ in range(4)]
    assert [a.status for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a.headers["X-RateLimit-Limit"] == "3" for a in answers)
    assert [(await get(fake_rc, "me")).status for _ in range(5)] == [200] * 5  # bot role bypasses it

    fake_rc.faults.emulate_rate_limiter(calls=3, window_s=60, bypass_bot=False)
    assert [(await get(fake_rc, "me")).status for _ in range(4)] == [200, 200, 200, 429]
    assert (await get(fake_rc, "rooms.get")).status == 200  # the window is per route


async def test_fail_next_answers_500(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    fake_rc.faults.fail_next("*", 1)
    fake_rc.faults.fail_next("me", 1, status=503)
    statuses = [(await get(fake_rc, "me")).status for _ in range(3)]
    assert statuses == [503, 500, 200]


async def test_delay(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    fake_rc.faults.delay(0.3, "me")
    started = time.monotonic()
    assert (await get(fake_rc, "me")).status == 200
    assert time.monotonic() - started >= 0.3
    fake_rc.faults.delay(0, "me")


async def test_withheld_pongs(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    fake_rc.withhold_pongs()
    async with aiohttp.ClientSession() as http:
        ws, _ = await open_ddp(fake_rc, http, fake_rc.bot_token)
        await ws.send_str(json.dumps({"msg": "ping", "id": "k1"}))
        with pytest.raises(TimeoutError):
            while True:  # the server's own pings may come; a pong must not
                frame = json.loads(await asyncio.wait_for(ws.receive_str(), 0.3))
                assert frame.get("msg") != "pong"
                if frame.get("msg") == "ping":
                    await ws.send_str(json.dumps({"msg": "pong"}))
        fake_rc.withhold_pongs(False)
        await ws.send_str(json.dumps({"msg": "ping", "id": "k2"}))
        while (frame := json.loads(await asyncio.wait_for(ws.receive_str(), 5))).get("msg") == "ping":
            await ws.send_str(json.dumps({"msg": "pong"}))
        assert frame == {"msg": "pong", "id": "k2"}
        await ws.close()
