"""Catch-up against the fake server: from the last processed instant, with threads, paged, all rooms in time order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chatbot.app import Bot
from chatbot.db.models import ProcessedMessage
from chatbot.transport.base import RoomKind
from chatbot.transport.rocketchat import catchup
from chatbot.transport.rocketchat.documents import RoomInfo, parse_ts
from chatbot.transport.rocketchat.rest import Credentials, RestClient
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat


async def mark(bot: Bot, message: dict[str, Any]) -> None:
    async with bot.sessions.begin() as session:
        ts = parse_ts(message["ts"])
        assert ts is not None
        session.add(ProcessedMessage(message_id=message["_id"], room_id=message["rid"], ts=ts, processed_at=ts))


async def test_catch_up_reads_every_room_from_its_mark_in_time_order(
    bot: Bot,
    fake_rc: FakeRocketChat,  # noqa: F811
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(catchup, "PAGE", 3)  # several pages per room
    tech = fake_rc.store.room("cercle-tech")
    private = fake_rc.store.room("cercle-tech-prive")
    rooms = [
        RoomInfo(tech.id, "cercle-tech", RoomKind.CHANNEL),
        RoomInfo(private.id, "cercle-tech-prive", RoomKind.GROUP),
    ]
    old = await fake_rc.post_as("alice", "cercle-tech", "ancien")
    boundary = await fake_rc.post_as("alice", "cercle-tech", "/budget")
    await mark(bot, boundary)
    expected = [boundary["_id"]]
    for i in range(4):
        expected.append((await fake_rc.post_as("bob", "cercle-tech-prive", f"p{i}"))["_id"])
        expected.append((await fake_rc.post_as("carol", "cercle-tech", f"t{i}", tmid=boundary["_id"]))["_id"])
    fed: list[tuple[str, str]] = []

    async def feed(document: dict[str, Any], room: RoomInfo) -> None:
        fed.append((document["_id"], room.id))

    rest = RestClient(fake_rc.url, Credentials(fake_rc.store.user("bot").id, fake_rc.bot_token))
    try:
        count = await catchup.catch_up(
            rest,
            bot.sessions,
            rooms,
            feed,
            started_at=datetime.now(UTC),
            now=datetime.now(UTC),
            max_age=timedelta(hours=1),
        )
    finally:
        await rest.close()
    # The private room has no mark of its own: it starts at the last instant processed anywhere (the boundary).
    assert [i for i, _ in fed] == expected and count == len(expected)
    assert old["_id"] not in [i for i, _ in fed]
    history = [r for r in fake_rc.requests_to("channels.history") + fake_rc.requests_to("groups.history")]
    assert all(r.query["inclusive"] == "true" and r.query["showThreadMessages"] == "true" for r in history)
    assert len(history) >= 4  # paged
