"""The fake Rocket.Chat's own behaviour: REST shapes and semantics, DDP conversation, keepalive."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tests.fakerc import FakeRocketChat
from tests.fakerc.fixtures import fake_rc  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class Rest:
    """A minimal REST client speaking to the fake as the bot does."""

    def __init__(self, fake: FakeRocketChat, http: aiohttp.ClientSession, user: str = "bot") -> None:
        self.fake = fake
        self.http = http
        bot = fake.store.user(user)
        self.headers = {"X-User-Id": bot.id, "X-Auth-Token": fake.token_for(user)}

    async def get(self, route: str, **query: str) -> tuple[int, dict[str, Any]]:
        url = f"{self.fake.url}/api/v1/{route}"
        async with self.http.get(url, params=query, headers=self.headers) as response:
            return response.status, await response.json()

    async def post(self, route: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        url = f"{self.fake.url}/api/v1/{route}"
        async with self.http.post(url, json=body, headers=self.headers) as response:
            return response.status, await response.json()


@pytest.fixture
async def rest(fake_rc: FakeRocketChat) -> AsyncIterator[Rest]:  # noqa: F811
    async with aiohttp.ClientSession() as http:
        yield Rest(fake_rc, http)


class DDP:
    """A raw DDP peer, to check frames exactly."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.n = 0

    async def send(self, **frame: Any) -> None:
        await self.ws.send_str(json.dumps(frame))

    async def recv(self, skip_pings: bool = True) -> dict[str, Any]:
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.receive_str(), 5))
            if skip_pings and frame.get("msg") == "ping":
                await self.send(msg="pong")
                continue
            return frame

    async def call(self, method: str, *params: Any) -> dict[str, Any]:
        self.n += 1
        await self.send(msg="method", method=method, id=str(self.n), params=list(params))
        result = await self.recv()
        updated = await self.recv()
        assert updated == {"msg": "updated", "methods": [str(self.n)]}
        return result

    async def sub(self, name: str, *params: Any) -> dict[str, Any]:
        self.n += 1
        await self.send(msg="sub", id=str(self.n), name=name, params=list(params))
        return await self.recv()


async def ddp_login(fake: FakeRocketChat, http: aiohttp.ClientSession) -> DDP:
    ws = await http.ws_connect(fake.ws_url)
    peer = DDP(ws)
    assert await peer.recv() == {"server_id": "0"}
    await peer.send(msg="connect", version="1", support=["1", "pre2", "pre1"])
    connected = await peer.recv()
    assert connected["msg"] == "connected" and connected["session"]
    result = await peer.call("login", {"resume": fake.bot_token})
    assert result["result"]["id"] == fake.store.user("bot").id
    assert result["result"]["token"] == fake.bot_token
    assert result["result"]["type"] == "resume"
    assert "$date" in result["result"]["tokenExpires"]
    return peer


# -- REST -----------------------------------------------------------------------------------------------------------
async def test_send_message_keeps_client_id_and_refuses_a_duplicate(fake_rc: FakeRocketChat, rest: Rest) -> None:  # noqa: F811
    room = fake_rc.store.room("cercle-tech")
    status, body = await rest.post(
        "chat.sendMessage", {"message": {"_id": "reply-42", "rid": room.id, "msg": "Bonjour"}}
    )
    assert status == 200 and body["success"] is True
    assert body["message"]["_id"] == "reply-42"
    assert body["message"]["u"]["username"] == "bot"
    assert body["message"]["ts"].endswith("Z")
    assert "bot" not in body["message"]  # only integrations and apps set it: filter the bot's own by u._id

    status, body = await rest.post("chat.sendMessage", {"message": {"_id": "reply-42", "rid": room.id, "msg": "Bis"}})
    assert status == 400 and body["success"] is False and "duplicate key" in body["error"]
    assert [m["msg"] for m in fake_rc.messages_in("cercle-tech", by="bot")] == ["Bonjour"]

    status, body = await rest.get("chat.getMessage", msgId="reply-42")
    assert status == 200 and body["message"]["msg"] == "Bonjour"
    status, body = await rest.get("chat.getMessage", msgId="nope")
    assert status == 400 and body["success"] is False


async def test_bad_token_is_401(fake_rc: FakeRocketChat, rest: Rest) -> None:  # noqa: F811
    rest.headers["X-Auth-Token"] = "wrong"
    status, body = await rest.get("me")
    assert status == 401 and body["success"] is False and body["error"] == "You must be logged in to do this."


async def test_login_with_password_and_me(fake_rc: FakeRocketChat, rest: Rest) -> None:  # noqa: F811
    async with rest.http.post(f"{fake_rc.url}/api/v1/login", json={"user": "bot", "password": "bot-password"}) as r:
        assert r.status == 200
        data = (await r.json())["data"]
    rest.headers = {"X-User-Id": data["userId"], "X-Auth-Token": data["authToken"]}
    status, body = await rest.get("me")
    assert status == 200 and body["username"] == "bot" and "bot" in body["roles"]
    async with rest.http.post(f"{fake_rc.url}/api/v1/login", json={"user": "bot", "password": "wrong"}) as r:
        assert r.status == 401 and (await r.json())["error"] == "Unauthorized"


async def test_history_is_newest_first_and_hides_thread_replies(fake_rc: FakeRocketChat, rest: Rest) -> None:  # noqa: F811
    first = await fake_rc.post_as("alice", "cercle-tech", "un")
    await fake_rc.post_as("bob", "cercle-tech", "réponse", tmid=first["_id"])
    third = await fake_rc.post_as("carol", "cercle-tech", "trois")
    room = fake_rc.store.room("cercle-tech")

    status, body = await rest.get("channels.history", roomId=room.id)
    assert status == 200 and [m["msg"] for m in body["messages"]] == ["trois", "un"]
    assert body["messages"][1]["tcount"] == 1

    status, body = await rest.get(
        "channels.history", roomId=room.id, oldest=first["ts"], inclusive="true", showThreadMessages="true"
    )
    assert [m["msg"] for m in body["messages"]] == ["trois", "réponse", "un"]
    status, body = await rest.get("channels.history", roomId=room.id, oldest=first["ts"], latest=third["ts"])
    assert [m["msg"] for m in body["messages"]] == []  # exclusive on both ends, thread reply hidden
    status, body = await rest.get("channels.history", roomId=room.id, count="1", offset="1")
    assert [m["msg"] for m in body["messages"]] == ["un"] and body["total"] == 2

    await fake_rc.post_as("alice", "cercle-tech-prive", "secret")
    group = fake_rc.store.room("cercle-tech-prive")
    status, body = await rest.get("groups.history", roomId=group.id)
    assert [m["msg"] for m in body["messages"]] == ["secret"]
    status, body = await rest.get("channels.history", roomId=group.id)
    assert status == 400 and body["errorType"] == "error-room-not-found"


async def test_dm_history_and_rooms(fake_rc: FakeRocketChat, rest: Rest) -> None:  # noqa: F811
    dm = fake_rc.add_dm("alice", "bot")
    await fake_rc.post_as("alice", "alice,bot", "/budget")
    status, body = await rest.get("dm.history", roomId=dm.id)
    assert status == 200 and [m["msg"] for m in body["messages"]] == ["/budget"]

    status, body = await rest.get("rooms.info", roomName="cercle-tech")
    assert status == 200 and body["room"]["t"] == "c" and body["room"]["name"] == "cercle-tech"
    status, body = await rest.get("subscriptions.get")
    assert {s["name"] for s in body["update"]} == {"cercle-tech", "cercle-tech-prive", "alice"}
    status, body = await rest.get("rooms.get")
    assert len(body["update"]) == 3
    status, body = await rest.get("channels.members", roomId=fake_rc.store.room("cercle-tech").id)
    assert [m["username"] for m in body["members"]] == ["bot", "alice", "bob", "carol"]
    status, body = await rest.get("groups.members", roomName="cercle-tech-prive")
    assert body["total"] == 4
    status, body = await rest.get("users.info", username="alice")
    assert body["user"]["roles"] == ["user"]
    status, body = await rest.get("users.info", username="nobody")
    assert status == 400 and body["errorType"] == "error-invalid-user"


async def test_settings_and_info_need_no_login(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    fake_rc.settings["Message_AllowUnrecognizedSlashCommand"] = True
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{fake_rc.url}/api/v1/settings.public") as r:
            settings = {s["_id"]: s["value"] for s in (await r.json())["settings"]}
        async with http.get(f"{fake_rc.url}/api/info") as r:
            info = await r.json()
    assert settings["Message_AllowUnrecognizedSlashCommand"] is True
    assert info["version"] == fake_rc.version


# -- DDP ------------------------------------------------------------------------------------------------------------
async def test_ddp_my_messages_reactions_edits_and_notifications(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    fake_rc.add_channel("annonces", ["alice"])  # public, the bot is not in it
    async with aiohttp.ClientSession() as http:
        peer = await ddp_login(fake_rc, http)
        ready = await peer.sub("stream-room-messages", "__my_messages__", {"useCollection": False, "args": []})
        assert ready == {"msg": "ready", "subs": [str(peer.n)]}
        bot = fake_rc.store.user("bot")
        notified = await peer.sub("stream-notify-user", f"{bot.id}/subscriptions-changed", False)
        assert notified["msg"] == "ready"

        posted = await fake_rc.post_as("alice", "cercle-tech", "/contrib 3h tech")
        event = await peer.recv()
        assert event["msg"] == "changed" and event["collection"] == "stream-room-messages"
        assert event["fields"]["eventName"] == "__my_messages__"
        message, extra = event["fields"]["args"]
        assert message["_id"] == posted["_id"] and message["msg"] == "/contrib 3h tech"
        assert message["ts"] == {"$date": message["_updatedAt"]["$date"]}
        assert message["u"]["username"] == "alice"
        assert extra == {"roomParticipant": True, "roomType": "c", "roomName": "cercle-tech"}

        await fake_rc.post_as("alice", "annonces", "hors du bot")
        message, extra = (await peer.recv())["fields"]["args"]
        assert extra["roomParticipant"] is False

        await fake_rc.react_as("bob", posted["_id"], "thumbsup")
        message, _ = (await peer.recv())["fields"]["args"]
        assert message["_id"] == posted["_id"] and message["reactions"] == {":thumbsup:": {"usernames": ["bob"]}}

        await fake_rc.edit_as("alice", posted["_id"], "/contrib 4h tech")
        message, _ = (await peer.recv())["fields"]["args"]
        assert message["msg"] == "/contrib 4h tech" and "$date" in message["editedAt"]

        await fake_rc.system_message("cercle-tech", "carol", "uj")
        message, _ = (await peer.recv())["fields"]["args"]
        assert message["t"] == "uj"

        fake_rc.add_group("nouveau", ["alice"])
        await fake_rc.add_member("nouveau", "bot")
        frames = [await peer.recv(), await peer.recv()]
        kinds = {f["collection"] for f in frames}
        assert kinds == {"stream-room-messages", "stream-notify-user"}
        note = next(f for f in frames if f["collection"] == "stream-notify-user")
        assert note["fields"]["eventName"] == f"{bot.id}/subscriptions-changed"
        assert note["fields"]["args"][0] == "inserted"
        await peer.ws.close()


async def test_ddp_errors(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(fake_rc.ws_url)
        peer = DDP(ws)
        await peer.recv()
        await peer.send(msg="connect", version="1", support=["1"])
        await peer.recv()
        nosub = await peer.sub("stream-room-messages", "__my_messages__", {"useCollection": False, "args": []})
        assert nosub["msg"] == "nosub" and nosub["error"]["error"] == "not-allowed"
        failed = await peer.call("login", {"resume": "not-a-token"})
        assert failed["error"]["error"] == 403
        assert failed["error"]["reason"] == "You've been logged out by the server. Please log in again."
        await peer.call("login", {"resume": fake_rc.bot_token})
        nosub = await peer.sub("no-such-stream", "x")
        assert nosub["msg"] == "nosub" and nosub["error"]["error"] == 404
        unknown = await peer.call("no-such-method")
        assert unknown["error"]["error"] == 404
        await peer.send(msg="ping", id="p1")
        assert await peer.recv() == {"msg": "pong", "id": "p1"}
        await ws.close()


async def test_ddp_server_pings_and_closes_a_silent_client(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    fake_rc.ping_interval = fake_rc.ping_timeout = 0.1
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(fake_rc.ws_url)
        peer = DDP(ws)
        await peer.recv()
        await peer.send(msg="connect", version="1", support=["1"])
        await peer.recv()
        ping = await peer.recv(skip_pings=False)
        assert ping == {"msg": "ping"}
        closed = await asyncio.wait_for(ws.receive(), 5)  # we do not answer: the server hangs up
        assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    assert any(kind == "timeout" for kind, _, _ in fake_rc.ddp_log)


async def test_history_count_is_capped_as_rocket_chat_caps_it(fake_rc: FakeRocketChat, rest: Rest) -> None:  # noqa: F811
    for n in range(105):
        await fake_rc.post_as("alice", "cercle-tech", f"message {n}")
    room = fake_rc.store.room("cercle-tech")
    status, body = await rest.get("channels.history", roomId=room.id, count="1000")
    assert status == 200 and len(body["messages"]) == 100 and body["total"] == 105
    assert body["messages"][0]["msg"] == "message 104"
    status, body = await rest.get("channels.history", roomId=room.id, count="100", offset="100")
    assert [m["msg"] for m in body["messages"]] == [f"message {n}" for n in range(4, -1, -1)]


async def test_members_come_and_go(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    fake_rc.add_group("bureau", ["alice"])
    with pytest.raises(ValueError, match="not a member"):
        await fake_rc.post_as("bob", "bureau", "bonjour")
    fake_rc.add_channel("place-publique", ["alice"])
    await fake_rc.post_as("bob", "place-publique", "bonjour")  # a public channel takes anyone's message
    async with aiohttp.ClientSession() as http:
        peer = await ddp_login(fake_rc, http)
        bot = fake_rc.store.user("bot")
        await peer.sub("stream-notify-user", f"{bot.id}/subscriptions-changed", False)
        await fake_rc.add_member("bureau", "bot")
        added = await peer.recv()
        assert added["fields"]["args"][0] == "inserted"
        assert added["fields"]["args"][1]["rid"] == fake_rc.store.room("bureau").id
        await fake_rc.remove_member("bureau", "bot")
        assert (await peer.recv())["fields"]["args"][0] == "removed"
        await peer.ws.close()
    assert [m["t"] for m in fake_rc.messages_in("bureau")] == ["uj", "ul"]


async def test_websocket_level_heartbeat_is_answered(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    """A client using websocket PING frames (aiohttp's ``heartbeat``) must not be cut off by the fake."""
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(fake_rc.ws_url, heartbeat=0.05)
        peer = DDP(ws)
        await peer.recv()
        await peer.send(msg="connect", version="1", support=["1"])
        await peer.recv()
        with pytest.raises(TimeoutError):
            while True:  # answer the DDP pings, let aiohttp's heartbeat run for a while
                frame = json.loads(await asyncio.wait_for(ws.receive_str(), 0.3))
                if frame.get("msg") == "ping":
                    await peer.send(msg="pong")
        assert not ws.closed
        await ws.close()
