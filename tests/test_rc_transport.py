"""The transport's own decisions, in process: which events become work, reactions on the bot's posts, rooms."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from chatbot.app import Bot
from chatbot.transport.base import ReactionChange, Room, RoomKind
from chatbot.transport.rocketchat.ddp import State
from chatbot.transport.rocketchat.outbox import Outbox
from chatbot.transport.rocketchat.rest import Credentials, RestClient, RetryPolicy
from chatbot.transport.rocketchat.transport import BUSY_GAP, RocketChatTransport
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat


async def no_token(_refused: bool) -> str:
    return ""


def transport_for(
    bot: Bot, fake: FakeRocketChat, retry: RetryPolicy | None = None, **kwargs: Any
) -> RocketChatTransport:
    """A transport not connected, whose realtime events go straight to the queue, as once a connection's catch-up
    has run (the holding of live messages before that is tested in tests/test_rc_resume.py)."""
    settings = dataclasses.replace(bot.settings, rocketchat=dataclasses.replace(bot.settings.rocketchat, url=fake.url))
    rest = RestClient(fake.url, Credentials(fake.store.user("bot").id, fake.bot_token), retry=retry)
    transport = RocketChatTransport(
        settings, rest, bot.sessions, bot.clock, Outbox(bot.sessions, bot.clock), no_token, **kwargs
    )
    transport.ddp.state = State.READY
    transport._live_connection = transport.ddp.connections
    return transport


async def reread(transport: RocketChatTransport) -> int:
    """The posts whose reactions matter, read back and queued as a catch-up does; how many."""
    return transport._release([], await transport._read_reactable_posts())


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
    await transport._handle_many(bot.handle_many, [(post, room)])
    post["reactions"] = {":+1:": {"usernames": ["alice", "bob"]}, ":-1:": {"usernames": ["carol"]}}
    await transport._handle_many(bot.handle_many, [(post, room)])
    post["reactions"] = {":-1:": {"usernames": ["carol"]}}
    await transport._handle_many(bot.handle_many, [(post, room)])
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
    # Reactions name users by username: the changes carry the user ids users.info gives, each looked up once.
    assert {c.user.username: c.user.id for c in changes} == {
        name: fake_rc.store.user(name).id for name in ("alice", "bob", "carol")
    }
    assert sorted(r.query["username"] for r in fake_rc.requests_to("users.info")) == ["alice", "bob", "carol"]
    assert transport._reactions[post["_id"]] == {":-1:": frozenset({"carol"})}
    post["reactions"] = {}
    await transport._handle_many(bot.handle_many, [(post, room)])
    assert post["_id"] not in transport._reactions  # a post without reactions is not kept in memory
    await transport.rest.close()


async def test_reactions_that_could_not_be_applied_are_tried_again(bot: Bot, fake_rc: FakeRocketChat) -> None:  # noqa: F811
    """Unknown user: skipped for good. users.info unreachable, or the handler failing: the change stays pending
    and is applied at the post's next re-emission."""
    changes: list[tuple[str, bool]] = []
    failing = {"bob"}

    async def on_reaction(change: ReactionChange) -> None:
        if change.user.username in failing:
            raise OSError("database unreachable")
        changes.append((change.user.username, change.added))

    quick = RetryPolicy(attempts=1, base_delay=0.0, max_delay=0.0)
    transport = transport_for(bot, fake_rc, retry=quick, on_reaction=on_reaction)
    room = transport._room_of(doc("R1"), {"roomType": "c", "roomName": "cercle-tech"})
    assert room is not None
    post = doc("R1", "Tour n°1", user_id=fake_rc.store.user("bot").id)
    post["reactions"] = {":+1:": {"usernames": ["alice", "ghost"]}}
    fake_rc.faults.fail_next("users.info", 1, status=503)  # alice's lookup (first in order): server unavailable
    await transport._handle_many(bot.handle_many, [(post, room)])
    assert changes == []  # ghost is unknown to the server (400): skipped
    assert transport._reactions[post["_id"]] == {":+1:": frozenset({"ghost"})}
    post["reactions"] = {":+1:": {"usernames": ["alice", "bob", "ghost"]}}
    try:
        await transport._handle_many(bot.handle_many, [(post, room)])
    except OSError:
        pass  # the intake worker pauses on this; the change must not count as applied
    assert changes == [("alice", True)]
    assert transport._reactions[post["_id"]] == {":+1:": frozenset({"alice", "ghost"})}
    failing.clear()
    await transport._handle_many(bot.handle_many, [(post, room)])
    assert changes == [("alice", True), ("bob", True)]
    assert [r.status for r in fake_rc.requests_to("users.info") if r.query["username"] == "ghost"] == [400]
    await transport.rest.close()


async def test_posts_of_open_rounds_are_read_back_after_catch_up(bot: Bot, fake_rc: FakeRocketChat) -> None:  # noqa: F811
    async def reactable() -> list[str]:
        return ["consent-7", "consent-deleted"]

    async def on_reaction(change: ReactionChange) -> None:
        return None

    transport = transport_for(bot, fake_rc, on_reaction=on_reaction, reactable_posts=reactable)
    await transport.refresh_rooms()
    bot_user = fake_rc.store.user("bot")
    tech = fake_rc.store.room("cercle-tech")
    fake_rc.store.insert_message(bot_user, tech, "Cycle n°7", message_id="consent-7")
    await fake_rc.react_as("alice", "consent-7", ":+1:")
    assert await reread(transport) == 1  # the missing post is skipped
    document, info = transport.queue.get_nowait()
    assert document["_id"] == "consent-7" and info.id == tech.id
    assert document["reactions"] == {":+1:": {"usernames": ["alice"]}}
    assert transport.queue.empty()
    await transport.rest.close()


async def test_posts_of_open_rounds_are_compared_whole_once_after_start(bot: Bot, fake_rc: FakeRocketChat) -> None:  # noqa: F811
    """At a re-read post's first reading, once its changes are applied, the bot gets who shows which emoji (user
    ids), so that positions whose reaction was removed while it was down go. Once per post; not while a reactor
    could not be looked up; not for the bot's other posts."""
    changes: list[tuple[str, str, bool]] = []
    reads: list[tuple[str, dict[str, list[str]], int]] = []

    async def on_reaction(change: ReactionChange) -> None:
        changes.append((change.user.username, change.emoji, change.added))

    async def on_reactions_read(post_id: str, shown: dict[str, list[str]]) -> None:
        reads.append((post_id, shown, len(changes)))

    async def reactable() -> list[str]:
        return ["consent-7"]

    quick = RetryPolicy(attempts=1, base_delay=0.0, max_delay=0.0)
    kwargs: dict[str, Any] = {"on_reaction": on_reaction, "reactable_posts": reactable, "retry": quick}
    bot_user = fake_rc.store.user("bot")
    tech = fake_rc.store.room("cercle-tech")
    fake_rc.store.insert_message(bot_user, tech, "Cycle n°7", message_id="consent-7")
    fake_rc.store.insert_message(bot_user, tech, "Réponse", message_id="reply-1")
    await fake_rc.react_as("alice", "consent-7", ":+1:")
    await fake_rc.react_as("bob", "consent-7", ":raised_hand:")
    await fake_rc.react_as("carol", "reply-1", ":+1:")
    ids = {name: fake_rc.store.user(name).id for name in ("alice", "bob", "carol")}

    # A reactor's lookup fails for now: the changes that could be applied are, the comparison waits.
    transport = transport_for(bot, fake_rc, on_reactions_read=on_reactions_read, **kwargs)
    await transport.refresh_rooms()
    assert await reread(transport) == 1
    document, info = transport.queue.get_nowait()
    fake_rc.faults.fail_next("users.info", 1, status=503)  # alice's lookup (first in order)
    await transport._handle_many(bot.handle_many, [(document, info)])
    assert changes == [("bob", ":raised_hand:", True)] and reads == []
    # Its next reading: alice's change, then the comparison, after every change.
    await transport._handle_many(bot.handle_many, [(document, info)])
    assert reads == [("consent-7", {":+1:": [ids["alice"]], ":raised_hand:": [ids["bob"]]}, 2)]
    # Later readings (re-emissions, the re-reading after a reconnect) only apply changes.
    await fake_rc.react_as("alice", "consent-7", ":+1:", add=False)
    assert await reread(transport) == 1
    await transport._handle_many(bot.handle_many, [transport.queue.get_nowait()])
    assert changes[-1] == ("alice", ":+1:", False) and len(reads) == 1
    # The bot's other posts are not compared.
    reply = (await transport.rest.get_message("reply-1"))["message"]
    await transport._handle_many(bot.handle_many, [(reply, info)])
    assert changes[-1] == ("carol", ":+1:", True) and len(reads) == 1
    await transport.rest.close()

    # The wiring by `chatbot run` itself is proven end to end in tests/test_rc_reactions.py (removal while down).


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
    # A room known by its configured name only (a circle's channel in the meeting reminder): looked up, and the
    # server's kind wins over the caller's guess (a private group is listed with groups.members).
    by_name = await transport.room_members(Room("", "#cercle-tech", RoomKind.CHANNEL))
    assert by_name is not None and sorted(m.username for m in by_name) == ["alice", "bob", "carol"]
    fake_rc.add_group("bureau", ["bot", "alice", "bob"])
    group = await transport.room_members(Room("", "bureau", RoomKind.CHANNEL))
    assert group is not None and sorted(m.username for m in group) == ["alice", "bob"]
    assert await transport.room_members(Room("", "nulle-part", RoomKind.CHANNEL)) is None
    await transport.rest.close()


async def test_a_direct_message_to_a_member_opens_their_direct_room(bot: Bot, fake_rc: FakeRocketChat) -> None:  # noqa: F811
    """`ctx.direct("alice", …)` is a post to `@alice`: delivered in the bot's direct room with alice, opened once."""
    from chatbot.transport.base import Outgoing
    from chatbot.transport.rocketchat.outbox import OutboxSender
    from tests.rc_support import deliver_all

    transport = transport_for(bot, fake_rc)
    outbox = Outbox(bot.sessions, bot.clock)
    await outbox.enqueue(
        "dm", [Outgoing(text="Votre contribution n°3 a été corrigée", room_name="@alice", is_reply=False)]
    )
    await outbox.enqueue("dm2", [Outgoing(text="Et facturée", room_name="@alice", is_reply=False)])
    await outbox.enqueue("nobody", [Outgoing(text="perdu", room_name="@personne", is_reply=False)])
    try:
        await deliver_all(OutboxSender(outbox, transport.rest, transport.room_id_for))
    finally:
        await transport.rest.close()
    direct = fake_rc.store.dm(fake_rc.store.user("bot").id, fake_rc.store.user("alice").id)
    assert [m["msg"] for m in fake_rc.messages_in(direct.id, by="bot")] == [
        "Votre contribution n°3 a été corrigée",
        "Et facturée",
    ]
    assert len(fake_rc.requests_to("dm.create")) == 2  # alice once (then remembered), and the unknown account
    assert await transport.room_id_for("@personne") is None


async def test_caught_up_only_once_the_missed_messages_are_handled(bot: Bot, fake_rc: FakeRocketChat) -> None:  # noqa: F811
    """`chatbot run` starts deadlines and reminders on this event: by then every missed command must be recorded."""
    from sqlalchemy import func, select

    from chatbot.db.models import ProcessedMessage

    for i in range(5):
        await fake_rc.post_as("alice", "cercle-tech", f"/contrib {i + 1}h tech")
    transport = transport_for(bot, fake_rc)
    handled_when_set: list[int] = []

    async def watch() -> None:
        await transport.caught_up.wait()
        async with bot.sessions() as session:
            handled_when_set.append(int(await session.scalar(select(func.count()).select_from(ProcessedMessage)) or 0))

    watcher = asyncio.create_task(watch())
    worker = asyncio.create_task(transport._work(bot.handle_many))
    try:
        assert not transport.caught_up.is_set()
        await transport.catch_up()
        await asyncio.wait_for(watcher, timeout=20)
        assert handled_when_set == [5]
    finally:
        worker.cancel()
        await transport.rest.close()


async def test_in_a_busy_stream_a_lone_command_waits_briefly_for_company(bot: Bot, fake_rc: FakeRocketChat) -> None:  # noqa: F811
    """Commands arriving close together share a transaction even when the worker is idle; in a calm stream a
    lone command is handled at once."""
    transport = transport_for(bot, fake_rc)
    for i in range(60):  # a burst: the moving average of the gaps between commands falls under BUSY_GAP
        transport._on_event("stream-room-messages", event(doc("R1", f"/aide {i}")))
    assert transport._arrival_gap < BUSY_GAP
    while not transport.queue.empty():
        transport.queue.get_nowait()
    batches: list[list[str]] = []

    async def handler(messages: Any) -> None:
        batches.append([m.text for m in messages])

    worker = asyncio.create_task(transport._work(handler))
    try:
        transport._on_event("stream-room-messages", event(doc("R1", "/aide un")))
        await asyncio.sleep(transport.linger / 3)  # arrives while the first waits for company
        transport._on_event("stream-room-messages", event(doc("R1", "/aide deux")))
        await asyncio.sleep(0.05)
        assert batches == [["/aide un", "/aide deux"]]
        transport._arrival_gap = 1.0  # a calm stream
        transport._on_event("stream-room-messages", event(doc("R1", "/aide trois")))
        await asyncio.sleep(transport.linger / 3)
        transport._on_event("stream-room-messages", event(doc("R1", "/aide quatre")))
        await asyncio.sleep(0.05)
        assert batches[1:] == [["/aide trois"], ["/aide quatre"]]
    finally:
        worker.cancel()
        await transport.rest.close()


async def test_a_reaction_taken_back_before_its_addition_is_handled_still_counts(
    bot: Bot,
    fake_rc: FakeRocketChat,  # noqa: F811
) -> None:
    """Both emissions of the bot's post are queued: the second (no reaction left) must not be dropped because the
    first is not applied yet."""
    changes: list[tuple[str, str, bool]] = []

    async def on_reaction(change: ReactionChange) -> None:
        changes.append((change.user.username, change.emoji, change.added))

    transport = transport_for(bot, fake_rc, on_reaction=on_reaction)
    post = doc("R1", "Tour n°1", user_id=fake_rc.store.user("bot").id)
    transport._on_event("stream-room-messages", event(dict(post)))  # the post itself comes back: dropped
    transport._on_event("stream-room-messages", event(dict(post, reactions={":+1:": {"usernames": ["alice"]}})))
    transport._on_event("stream-room-messages", event(dict(post, reactions={})))  # alice takes it back
    assert transport.queue.qsize() == 2
    worker = asyncio.create_task(transport._work(bot.handle_many))
    try:
        await wait_until(lambda: len(changes) == 2)
    finally:
        worker.cancel()
        await transport.rest.close()
    assert changes == [("alice", ":+1:", True), ("alice", ":+1:", False)]


async def wait_until(condition: Any, within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)
