"""The transport's own decisions, in process: which events become work, reactions on the bot's posts, rooms."""

from __future__ import annotations

import dataclasses
from typing import Any

from chatbot.app import Bot
from chatbot.transport.base import ReactionChange, Room, RoomKind
from chatbot.transport.rocketchat.outbox import Outbox
from chatbot.transport.rocketchat.rest import Credentials, RestClient
from chatbot.transport.rocketchat.transport import RocketChatTransport
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat


async def no_token(_refused: bool) -> str:
    return ""


def transport_for(bot: Bot, fake: FakeRocketChat, **kwargs: Any) -> RocketChatTransport:
    settings = dataclasses.replace(bot.settings, rocketchat=dataclasses.replace(bot.settings.rocketchat, url=fake.url))
    rest = RestClient(fake.url, Credentials(fake.store.user("bot").id, fake.bot_token))
    return RocketChatTransport(
        settings, rest, bot.sessions, bot.clock, Outbox(bot.sessions, bot.clock), no_token, **kwargs
    )


def event(document: dict[str, Any], room_type: str = "c", room_name: str | None = "cercle-tech") -> dict[str, Any]:
    meta = {"roomParticipant": True, "roomType": room_type, "roomName": room_name}
    return {"eventName": "__my_messages__", "args": [document, meta]}


def doc(rid: str, text: str = "/budget", user_id: str = "U1", **extra: Any) -> dict[str, Any]:
    return {"_id": f"id-{text}-{rid}", "rid": rid, "msg": text, "ts": {"$date": 1}, "u": {"_id": user_id}, **extra}


async def test_only_configured_rooms_and_direct_messages_are_queued(bot: Bot, fake_rc: FakeRocketChat) -> None:  # noqa: F811
    transport = transport_for(bot, fake_rc)
    transport._on_event("stream-room-messages", event(doc("R1"), "c", "cercle-tech"))
    transport._on_event("stream-room-messages", event(doc("R2"), "c", "cafe"))
    transport._on_event("stream-room-messages", event(doc("R3"), "d", None))
    transport._on_event("stream-room-messages", event(doc("R4"), "p", "Cercle-Tech-Prive"))
    transport._on_event("stream-notify-user", {"eventName": "x/subscriptions-changed", "args": ["inserted", {}]})
    queued = []
    while not transport.queue.empty():
        queued.append(transport.queue.get_nowait()[1])
    assert [(r.id, r.kind) for r in queued] == [
        ("R1", RoomKind.CHANNEL),
        ("R3", RoomKind.DIRECT),
        ("R4", RoomKind.GROUP),
    ]
    await transport.rest.close()


async def test_reactions_on_the_bots_posts_become_changes(bot: Bot, fake_rc: FakeRocketChat) -> None:  # noqa: F811
    changes: list[ReactionChange] = []

    async def on_reaction(change: ReactionChange) -> None:
        changes.append(change)

    transport = transport_for(bot, fake_rc, on_reaction=on_reaction)
    bot_id = fake_rc.store.user("bot").id
    room = transport._room_of(doc("R1"), {"roomType": "c", "roomName": "cercle-tech"})
    assert room is not None
    post = doc("R1", "Tour n°1", user_id=bot_id, reactions={":+1:": {"usernames": ["alice"]}})
    await transport._handle(bot.handle, post, room)
    post["reactions"] = {":+1:": {"usernames": ["alice", "bob"]}, ":-1:": {"usernames": ["carol"]}}
    await transport._handle(bot.handle, post, room)
    post["reactions"] = {":-1:": {"usernames": ["carol"]}}
    await transport._handle(bot.handle, post, room)
    seen = sorted((c.user.username, c.emoji, c.added) for c in changes)
    assert seen == sorted(
        [
            ("alice", ":+1:", True),
            ("bob", ":+1:", True),
            ("carol", ":-1:", True),
            ("alice", ":+1:", False),
            ("bob", ":+1:", False),
        ]
    )
    assert all(c.message_id == post["_id"] and c.room.id == "R1" for c in changes)
    await transport.rest.close()


async def test_rooms_by_name_and_members(bot: Bot, fake_rc: FakeRocketChat) -> None:  # noqa: F811
    transport = transport_for(bot, fake_rc)
    await transport.refresh_rooms()
    tech = fake_rc.store.room("cercle-tech")
    assert await transport.room_id_for("#cercle-tech") == tech.id
    fake_rc.add_channel("annonces", ["alice"])
    assert await transport.room_id_for("annonces") == fake_rc.store.room("annonces").id  # through rooms.info
    assert await transport.room_id_for("nulle-part") is None
    members = await transport.room_members(Room(tech.id, "cercle-tech", RoomKind.CHANNEL))
    assert members is not None and sorted(m.username for m in members) == ["alice", "bob", "carol"]
    await transport.rest.close()
