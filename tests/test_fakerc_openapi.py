"""Requests that break Rocket.Chat's OpenAPI files (or what its handlers require) are caught and fail the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakerc import FakeRocketChat
from tests.fakerc.fixtures import assert_no_violations, populated
from tests.fakerc.openapi import HOW_TO_ENABLE, spec_available, spec_required

if not spec_available() and not spec_required():  # one line in pytest's summary (where the files are: openapi.py)
    pytest.skip(f"no Rocket.Chat OpenAPI files: {HOW_TO_ENABLE}", allow_module_level=True)


@pytest.fixture
async def fake() -> AsyncIterator[FakeRocketChat]:
    """Like ``fake_rc`` but without the teardown assertion: these tests make violations on purpose."""
    async with FakeRocketChat() as server:
        yield await populated(server)


async def send(
    fake: FakeRocketChat, method: str, route: str, *, query: str = "", body: Any = None, raw: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    bot = fake.store.user("bot")
    headers = {"X-User-Id": bot.id, "X-Auth-Token": fake.bot_token}
    url = f"{fake.url}/api/v1/{route}" + (f"?{query}" if query else "")
    async with aiohttp.ClientSession() as http:
        kwargs: dict[str, Any] = {"headers": headers}
        if raw is not None:
            kwargs["data"] = raw
            headers["Content-Type"] = "application/json"
        elif body is not None:
            kwargs["json"] = body
        async with http.request(method, url, **kwargs) as response:
            return response.status, await response.json()


def messages(fake: FakeRocketChat) -> str:
    return "\n".join(str(v) for v in fake.violations)


async def test_conforming_requests_pass(fake: FakeRocketChat) -> None:
    room = fake.store.room("cercle-tech")
    message = {"_id": "a1", "rid": room.id, "msg": "x"}
    status, _ = await send(fake, "POST", "chat.sendMessage", body={"message": message})
    assert status == 200
    query = f"roomId={room.id}&oldest=2026-11-26T09:00:00.000Z&inclusive=true&showThreadMessages=true&count=100"
    status, _ = await send(fake, "GET", "channels.history", query=query)
    assert status == 200
    status, _ = await send(fake, "POST", "chat.react", body={"messageId": "a1", "emoji": ":thumbsup:"})
    assert status == 200
    assert fake.violations == []


async def test_send_message_without_rid_is_a_violation(fake: FakeRocketChat) -> None:
    status, body = await send(fake, "POST", "chat.sendMessage", body={"message": {"msg": "Bonjour"}})
    assert status == 400 and body["success"] is False
    assert "rid" in messages(fake)
    with pytest.raises(pytest.fail.Exception, match=r"chat\.sendMessage"):
        assert_no_violations(fake)
    assert fake.messages_in("cercle-tech") == []


async def test_history_flag_must_be_the_string_true(fake: FakeRocketChat) -> None:
    room = fake.store.room("cercle-tech")
    status, _ = await send(fake, "GET", "channels.history", query=f"roomId={room.id}&inclusive=True")
    assert status == 400
    assert "inclusive='True'" in messages(fake)


async def test_history_parameters_in_a_json_body_are_a_violation(fake: FakeRocketChat) -> None:
    dm = fake.add_dm("alice", "bot")
    status, _ = await send(fake, "GET", "dm.history", query=f"roomId={dm.id}", body={"inclusive": True})
    assert status == 400
    assert "GET request carries a body" in messages(fake)


async def test_unencoded_offset_date_is_a_violation(fake: FakeRocketChat) -> None:
    room = fake.store.room("cercle-tech-prive")
    # "+00:00" unencoded in a URL arrives as a space: not a date any more.
    status, _ = await send(fake, "GET", "groups.history", query=f"roomId={room.id}&oldest=2026-11-26T09:00:00+00:00")
    assert status == 400
    assert "not an ISO 8601 date" in messages(fake)


@pytest.mark.parametrize(
    ("method", "route", "body", "needle"),
    [
        ("POST", "chat.postMessage", {"text": "sans salon"}, "chat.postMessage"),
        ("POST", "chat.react", {"emoji": ":ok:"}, "messageId"),
        ("POST", "chat.update", {"roomId": "r", "msgId": "m", "text": 3}, "text"),
        ("POST", "chat.sendMessage", {"message": {"rid": "r", "msg": ["not", "a", "string"]}}, "msg"),
        ("GET", "chat.getMessage", None, "msgId"),
        ("POST", "chat.noSuchRoute", {}, "no such path"),
    ],
)
async def test_malformed_requests_are_violations(
    fake: FakeRocketChat, method: str, route: str, body: Any, needle: str
) -> None:
    status, _ = await send(fake, method, route, body=body)
    assert status == 400
    assert needle in messages(fake)


async def test_missing_auth_headers_are_a_violation(fake: FakeRocketChat) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{fake.url}/api/v1/me") as response:
        assert response.status == 400
    assert "X-User-Id" in messages(fake) or "X-Auth-Token" in messages(fake)


async def test_public_routes_need_no_headers(fake: FakeRocketChat) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{fake.url}/api/v1/settings.public") as response:
            assert response.status == 200
        async with http.post(f"{fake.url}/api/v1/login", json={"user": "bot", "password": "bot-password"}) as r:
            assert r.status == 200
        async with http.get(f"{fake.url}/api/info") as response:
            assert response.status == 200
    assert fake.violations == []


async def test_opening_a_direct_room_takes_one_username(fake: FakeRocketChat) -> None:
    """`dm.create`'s body is `oneOf` two schemas that require nothing: checked by hand, one of its two keys."""
    status, reply = await send(fake, "POST", "dm.create", body={"username": "alice"})
    assert status == 200 and reply["room"]["t"] == "d"
    assert fake.violations == []
    await send(fake, "POST", "dm.create", body={"user": "alice"})
    await send(fake, "POST", "dm.create", body={"username": "alice", "usernames": "alice,bob"})
    assert [str(v).split(": ", 1)[1] for v in fake.violations] == [
        "the body needs exactly one of username, usernames, a string"
    ] * 2
