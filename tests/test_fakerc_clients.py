"""The fake is proven with real third-party clients, not ours.

- ``rocketchat_API`` (PyPI rocketchat-api, synchronous, run in a thread): logs in, posts, reads history, with
  zero OpenAPI violations (the ``fake_rc`` fixture asserts it at teardown).
- ``rocketchat-async`` (PyPI): connects over DDP, logs in with a resume token, subscribes to room messages and
  receives a message the fake broadcasts.
- Rocket.Chat's own ``@rocket.chat/ddp-client`` (npm), driven by ``tests/ddp_client/check.js``: connects, logs in
  with a resume token, subscribes, prints the message it receives. Skipped only when node/npm are absent.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from rocketchat_API.APIExceptions.RocketExceptions import RocketApiException
from rocketchat_API.rocketchat import RocketChat as RocketChatAPI
from rocketchat_async import RocketChat as RocketChatAsync

from tests.fakerc import FakeRocketChat
from tests.fakerc.fixtures import fake_rc  # noqa: F401

DDP_CLIENT_DIR = Path(__file__).parent / "ddp_client"


async def test_rocketchat_api_logs_in_posts_and_reads_history(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    room = fake_rc.store.room("cercle-tech")
    first = await fake_rc.post_as("alice", "cercle-tech", "/contrib 3h tech")

    def session() -> dict[str, object]:
        api = RocketChatAPI("bot", "bot-password", server_url=fake_rc.url)  # logs in inside the constructor
        seen: dict[str, object] = {"me": api.me()["username"], "info": api.info()["version"]}
        seen["settings"] = {s["_id"]: s["value"] for s in api.settings_public()}
        sent = api.chat_send_message({"_id": "reply-1", "rid": room.id, "msg": "Merci", "tmid": first["_id"]})
        seen["sent"] = sent["message"]["_id"]
        try:
            api.chat_send_message({"_id": "reply-1", "rid": room.id, "msg": "Merci"})
        except RocketApiException as error:
            seen["duplicate"] = error.status_code if hasattr(error, "status_code") else str(error)
        api.chat_post_message("Annonce", room_id=room.id)
        api.chat_react(first["_id"], emoji=":white_check_mark:")
        seen["get"] = api.chat_get_message("reply-1")["message"]["tmid"]
        history = api.channels_history(room.id, oldest=first["ts"], inclusive="true", showThreadMessages="true")
        seen["history"] = [m["msg"] for m in history]
        seen["members"] = [m["username"] for m in api.channels_members(room_id=room.id)]
        seen["user"] = api.users_info(username="alice")["user"]["username"]
        seen["room"] = api.rooms_info(room_name="cercle-tech")["room"]["_id"]
        seen["subscriptions"] = sorted(s["name"] for s in api.subscriptions_get()["update"])
        return seen

    seen = await asyncio.to_thread(session)
    assert seen["me"] == "bot" and seen["info"] == fake_rc.version
    assert seen["settings"]["Message_AllowUnrecognizedSlashCommand"] is False  # type: ignore[index]
    assert seen["sent"] == "reply-1" and "duplicate" in seen
    assert seen["get"] == first["_id"]
    assert seen["history"] == ["Annonce", "Merci", "/contrib 3h tech"]
    assert seen["members"] == ["bot", "alice", "bob", "carol"]
    assert seen["user"] == "alice" and seen["room"] == room.id
    assert seen["subscriptions"] == ["cercle-tech", "cercle-tech-prive"]
    assert fake_rc.store.messages[first["_id"]]["reactions"] == {":white_check_mark:": {"usernames": ["bot"]}}
    # The duplicate was refused by the server (400), not by the client library: it reached the fake.
    assert [r.status for r in fake_rc.requests_to("chat.sendMessage")] == [200, 400]


async def test_rocketchat_async_receives_a_broadcast(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    room = fake_rc.store.room("cercle-tech")
    received: asyncio.Queue[tuple[str, ...]] = asyncio.Queue()

    def on_message(*args: str) -> None:  # channel_id, sender_id, msg_id, thread_id, msg, qualifier, unread, repeated
        channel_id, sender_id, msg_id, _thread_id, msg = args[:5]
        received.put_nowait((channel_id, sender_id, msg_id, msg))

    client = RocketChatAsync()
    await client.resume(fake_rc.ws_url, "bot", fake_rc.bot_token)
    assert client.user_id == fake_rc.store.user("bot").id
    channels = await client.get_channels()
    assert (room.id, "c") in channels
    await client.subscribe_to_channel_messages(room.id, on_message)
    await wait_for_subscription(fake_rc, room.id)

    posted = await fake_rc.post_as("alice", "cercle-tech", "/budget tech")
    channel_id, sender_id, msg_id, msg = await asyncio.wait_for(received.get(), 5)
    assert (channel_id, sender_id, msg_id, msg) == (
        room.id,
        fake_rc.store.user("alice").id,
        posted["_id"],
        "/budget tech",
    )

    await client.send_message("Réponse par DDP", room.id)  # the method side: stored and echoed to subscribers
    _, sender_id, _, msg = await asyncio.wait_for(received.get(), 5)
    assert msg == "Réponse par DDP" and sender_id == fake_rc.store.user("bot").id
    client._ws_connection_task.cancel()


async def wait_for_subscription(fake: FakeRocketChat, event: str) -> None:
    """rocketchat-async does not wait for ``ready``: wait until the fake has registered the subscription."""
    for _ in range(200):
        if any(s.event == event for session in fake.sessions for s in session.subscriptions.values()):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no subscription to {event}")


async def _websocket_flag() -> list[str]:
    """Node 22 has a global WebSocket (the client needs one); Node 20 needs ``--experimental-websocket``."""
    probe = await asyncio.create_subprocess_exec("node", "-p", "typeof WebSocket", stdout=asyncio.subprocess.PIPE)
    out, _ = await probe.communicate()
    return ["--experimental-websocket"] if out.strip() == b"undefined" else []


def _npm_ready() -> tuple[bool, str]:
    if shutil.which("node") is None or shutil.which("npm") is None:
        return False, "node/npm are not installed here: Rocket.Chat's @rocket.chat/ddp-client cannot run"
    return True, ""


async def test_official_ddp_client_receives_a_broadcast(fake_rc: FakeRocketChat) -> None:  # noqa: F811
    ready, reason = _npm_ready()
    if not ready:
        pytest.skip(reason)
    if not (DDP_CLIENT_DIR / "node_modules" / "@rocket.chat" / "ddp-client").is_dir():
        started = time.monotonic()
        command = ["npm", "ci"] if (DDP_CLIENT_DIR / "package-lock.json").exists() else ["npm", "install"]
        installed = await asyncio.to_thread(
            subprocess.run,
            [*command, "--no-audit", "--no-fund"],
            cwd=DDP_CLIENT_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert installed.returncode == 0, installed.stderr[-2000:]
        print(f"npm install took {time.monotonic() - started:.1f} s")

    bot = fake_rc.store.user("bot")
    node = await asyncio.create_subprocess_exec(
        "node",
        *await _websocket_flag(),
        "check.js",
        fake_rc.url,
        fake_rc.bot_token,
        cwd=DDP_CLIENT_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert node.stdout is not None
        line = await asyncio.wait_for(node.stdout.readline(), 30)
        assert json.loads(line) == {"ready": True, "userId": bot.id}, line
        await wait_for_subscription(fake_rc, "__my_messages__")
        posted = await fake_rc.post_as("alice", "cercle-tech", "/contrib 1h30 communication")
        line = await asyncio.wait_for(node.stdout.readline(), 30)
        event = json.loads(line)
        assert event["message"]["_id"] == posted["_id"]
        assert event["message"]["msg"] == "/contrib 1h30 communication"
        assert event["extra"] == {"roomParticipant": True, "roomType": "c", "roomName": "cercle-tech"}
        assert await asyncio.wait_for(node.wait(), 30) == 0
    finally:
        if node.returncode is None:
            node.kill()
            await node.wait()
