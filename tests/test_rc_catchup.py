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


def is_command(document: dict[str, Any]) -> bool:
    return str(document.get("msg", "")).startswith("/")


async def read(bot: Bot, fake: FakeRocketChat, rooms: list[RoomInfo], **kwargs: Any) -> list[catchup.Missed]:
    rest = RestClient(fake.url, Credentials(fake.store.user("bot").id, fake.bot_token))
    options: dict[str, Any] = {
        "is_command": is_command,
        "known": lambda _id: False,
        "started_at": datetime.now(UTC),
        "now": datetime.now(UTC),
        "max_age": timedelta(hours=1),
        "overlap": timedelta(0),
    }
    try:
        return await catchup.read_missed(rest, bot.sessions, rooms, **{**options, **kwargs})
    finally:
        await rest.close()


def rooms_of(fake: FakeRocketChat) -> list[RoomInfo]:
    tech = fake.store.room("cercle-tech")
    private = fake.store.room("cercle-tech-prive")
    return [
        RoomInfo(tech.id, "cercle-tech", RoomKind.CHANNEL),
        RoomInfo(private.id, "cercle-tech-prive", RoomKind.GROUP),
    ]


async def test_catch_up_reads_every_room_from_its_mark_in_time_order(
    bot: Bot,
    fake_rc: FakeRocketChat,  # noqa: F811
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(catchup, "PAGE", 3)  # several pages per room
    old = await fake_rc.post_as("alice", "cercle-tech", "/budget ancien")
    boundary = await fake_rc.post_as("alice", "cercle-tech", "/budget")
    await mark(bot, boundary)
    expected = []
    for i in range(4):
        await fake_rc.post_as("bob", "cercle-tech-prive", f"bavardage {i}")  # no command: not read back
        expected.append((await fake_rc.post_as("bob", "cercle-tech-prive", f"/budget p{i}"))["_id"])
        expected.append((await fake_rc.post_as("carol", "cercle-tech", f"/budget t{i}", tmid=boundary["_id"]))["_id"])
    missed = await read(bot, fake_rc, rooms_of(fake_rc), known=lambda message_id: message_id == expected[-1])
    # The private room has no mark of its own: it starts at the last instant processed anywhere (the boundary).
    # The boundary itself is recorded, the last command is known (queued already): neither comes back.
    assert [m.id for m in missed] == expected[:-1]
    assert old["_id"] not in [m.id for m in missed]
    history = [r for r in fake_rc.requests_to("channels.history") + fake_rc.requests_to("groups.history")]
    assert all(r.query["inclusive"] == "true" and r.query["showThreadMessages"] == "true" for r in history)
    assert len(history) >= 4  # paged
    for route in ("channels.history", "groups.history"):  # each page ends where the previous one stopped
        pages = fake_rc.requests_to(route)
        assert "latest" not in pages[0].query and all("latest" in r.query for r in pages[1:])


async def test_the_overlap_reads_back_a_command_stamped_before_the_mark(
    bot: Bot,
    fake_rc: FakeRocketChat,  # noqa: F811
) -> None:
    """Another server instance, its clock 2 s behind, inserts a command stamped before the last one recorded."""
    handled = await fake_rc.post_as("alice", "cercle-tech", "/budget")
    await mark(bot, handled)
    late = await fake_rc.post_as("bob", "cercle-tech", "/budget tech", ts=fake_rc.store.now_ms() - 2000)
    rooms = rooms_of(fake_rc)
    assert [m.id for m in await read(bot, fake_rc, rooms)] == []  # from the mark itself: missed
    assert [m.id for m in await read(bot, fake_rc, rooms, overlap=timedelta(seconds=60))] == [late["_id"]]


async def test_a_page_full_of_one_instant_is_stepped_over(
    bot: Bot,
    fake_rc: FakeRocketChat,  # noqa: F811
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(catchup, "PAGE", 3)
    same = fake_rc.store.now_ms()
    expected = [(await fake_rc.post_as("alice", "cercle-tech", f"/budget {i}", ts=same))["_id"] for i in range(7)]
    expected.append((await fake_rc.post_as("alice", "cercle-tech", "/budget fin"))["_id"])
    missed = await read(bot, fake_rc, rooms_of(fake_rc)[:1], started_at=datetime.fromtimestamp(same / 1000 - 1, UTC))
    assert sorted(m.id for m in missed[:-1]) == sorted(expected[:-1]) and missed[-1].id == expected[-1]


def test_slim_documents_share_their_author_and_room_id() -> None:
    """A catch-up holds thousands of documents: each keeps only the fields the bot reads, and documents by one
    author share one (read-only) author mapping; another author, or the same account renamed, is its own."""
    from chatbot.transport.rocketchat.documents import slim

    def document(n: int, username: str) -> dict[str, Any]:
        return {
            "_id": f"m{n}",
            "rid": "".join(["ROOM", "1"]),  # a fresh string each time, as JSON decoding gives
            "msg": "/budget",
            "ts": "2026-11-30T10:00:00.000Z",
            "u": {"_id": "u1", "username": username},
            "md": [{"type": "PARAGRAPH"}],
        }

    first, second, renamed = slim(document(1, "alice")), slim(document(2, "alice")), slim(document(3, "alicia"))
    assert first == {k: v for k, v in document(1, "alice").items() if k != "md"}
    assert first["u"] is second["u"] and first["rid"] is second["rid"]
    assert renamed["u"] == {"_id": "u1", "username": "alicia"} and renamed["u"] is not first["u"]
