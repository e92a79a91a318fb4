"""No command falls between two connections: each interleaving of live messages, catch-up and drops, forced.

The transport runs in this process against the fake server, with the fake holding answers or emitting events at
chosen moments. Each test posts commands before, during and after the faults, then checks that every one is answered
exactly once and counted once, and that the envelope's totals equal what was declared.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from chatbot.app import Bot
from chatbot.db.models import Contribution, ProcessedMessage
from chatbot.transport.rocketchat.outbox import Outbox
from chatbot.transport.rocketchat.transport import RocketChatTransport
from tests.fakerc.ddp import DDPSession, Subscription
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.helpers import assert_totals_consistent
from tests.rc_support import bot_replies, rest_client, wait_for

ROOM = "cercle-tech"
PRIVATE = "cercle-tech-prive"
COMMAND = "/contrib 30min tech Relecture"  # 15 € each
CENTS = 1500


class Running:
    """The bot's Rocket.Chat side, as `chatbot run` wires it, in this process."""

    def __init__(self, bot: Bot, fake: FakeRocketChat) -> None:
        self.bot = bot
        self.fake = fake
        self.ids: list[str] = []
        self.transport: RocketChatTransport | None = None
        self._task: asyncio.Task[None] | None = None
        self._members = iter(range(10**6))

    async def start(self, *, overlap: int | None = None) -> RocketChatTransport:
        """Connected and caught up; `overlap`: the catch-up overlap in seconds, if not the default (0 takes away
        the margin that would hide a message recorded out of order)."""
        bot, fake = self.bot, self.fake
        outbox = Outbox(bot.sessions, bot.clock)
        bot.use_outbox(outbox.persist_many)
        rocketchat = dataclasses.replace(bot.settings.rocketchat, url=fake.url)
        if overlap is not None:
            rocketchat = dataclasses.replace(rocketchat, catchup_overlap_seconds=overlap)
        settings = dataclasses.replace(bot.settings, rocketchat=rocketchat)

        async def token(_refused: bool) -> str:
            return fake.bot_token

        self.transport = RocketChatTransport(settings, rest_client(fake), bot.sessions, bot.clock, outbox, token)
        bot.outlet = self.transport.deliver
        self._task = asyncio.create_task(self.transport.run(bot.handle_many))
        await wait_for(lambda: self.transport is not None and self.transport.caught_up.is_set(), what="caught up")
        return self.transport

    async def stop(self) -> None:
        if self.transport is not None:
            await self.transport.stop()
            await self.transport.rest.close()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def post(self, count: int, room: str = ROOM, **kwargs: Any) -> list[str]:
        """`count` commands from members in turn; their ids, remembered for the final check."""
        posted = []
        for _ in range(count):
            member = ("alice", "bob", "carol")[next(self._members) % 3]
            posted.append((await self.fake.post_as(member, room, COMMAND, **kwargs))["_id"])
        self.ids += posted
        return posted

    def answered(self, ids: list[str]) -> int:
        replies = {**bot_replies(self.fake, ROOM), **bot_replies(self.fake, PRIVATE)}
        return sum(1 for i in ids if replies.get(i))

    async def reconnected(self, connections: int) -> None:
        transport = self.transport
        assert transport is not None
        await wait_for(lambda: transport.ddp.connections >= connections, what=f"connection {connections}")

    async def assert_exactly_once(self) -> None:
        ids = self.ids
        await wait_for(lambda: self.answered(ids) == len(ids), within=30, what=f"{len(ids)} replies")
        await asyncio.sleep(0.3)  # a duplicate would be posted within this time: give it the chance to show
        replies = {**bot_replies(self.fake, ROOM), **bot_replies(self.fake, PRIVATE)}
        for command_id in ids:
            assert [m["_id"] for m in replies.get(command_id, [])] == [f"{command_id}-0"]
        async with self.bot.sessions() as session:
            count, total = (
                await session.execute(select(func.count(), func.coalesce(func.sum(Contribution.amount_cents), 0)))
            ).one()
            processed = await session.scalar(select(func.count()).select_from(ProcessedMessage))
        assert (count, total, processed) == (len(ids), len(ids) * CENTS, len(ids))
        await assert_totals_consistent(self.bot)


@pytest.fixture
async def running(bot: Bot, fake_rc: FakeRocketChat) -> AsyncIterator[Running]:  # noqa: F811
    run = Running(bot, fake_rc)
    try:
        yield run
    finally:
        fake_rc.faults.clear()
        await run.stop()


async def test_live_messages_of_a_new_connection_wait_for_its_catch_up(
    running: Running,
    fake_rc: FakeRocketChat,  # noqa: F811
) -> None:
    """Commands reach the new connection before it is even ready, and its catch-up is slow to begin: they must not
    be recorded before the commands posted while the socket was down are read back."""
    transport = await running.start()
    await running.post(5)
    await wait_for(lambda: running.answered(running.ids) == 5, what="the first replies")
    live: list[str] = []

    async def before_ready(session: DDPSession, subscription: Subscription) -> None:
        if subscription.stream == "stream-room-messages" and not live:
            live.extend(await running.post(5))  # broadcast to this session before its `ready`

    fake_rc.ddp.before_ready = before_ready
    fake_rc.faults.hold_answers("subscriptions.get")  # the catch-up's first call
    await fake_rc.drop_websockets()
    gap = await running.post(5)  # while the socket is down: only catch-up can see these
    await running.reconnected(2)
    await wait_for(lambda: len(live) == 5, what="the live commands")
    with contextlib.suppress(AssertionError):  # time enough for a bot that does not hold them to answer them
        await wait_for(lambda: running.answered(live) > 0, within=1.0, what="a live command answered")
    early = running.answered(live)
    fake_rc.faults.release_answers("subscriptions.get")
    await running.assert_exactly_once()
    assert running.answered(gap) == 5 and transport.ddp.connections == 2
    assert early == 0  # live commands wait for the catch-up of their connection


async def test_drops_while_a_catch_up_runs_and_while_the_next_waits_for_it(
    running: Running,
    fake_rc: FakeRocketChat,  # noqa: F811
) -> None:
    """A catch-up (the one after a database outage) is reading the history when the socket drops, and drops again
    while the new connection's catch-up waits for it; commands come in each gap and on each connection."""
    transport = await running.start()
    await running.post(4)
    await wait_for(lambda: running.answered(running.ids) == 4, what="the first replies")
    fake_rc.faults.hold_answers("channels.history")
    asked = len(fake_rc.requests_to("channels.history"))
    await transport._wait_for_database()  # the database is back at once: its catch-up starts
    await wait_for(lambda: len(fake_rc.requests_to("channels.history")) > asked, what="the history read")
    fake_rc.faults.hold_answers("subscriptions.get")  # the next catch-ups' first call
    live: list[str] = []
    for connection in (2, 3):
        await fake_rc.drop_websockets()
        await running.post(4)  # posted while the socket is down
        await running.reconnected(connection)
        await wait_for(lambda: bool(fake_rc.sessions and fake_rc.sessions[0].subscriptions), what="subscribed")
        live += await running.post(4)  # live on the new connection, whose catch-up waits for the first one
        await asyncio.sleep(0.2)
    fake_rc.faults.release_answers("channels.history")  # the first catch-up ends, on a connection now gone
    with contextlib.suppress(AssertionError):  # time enough for a bot that does not hold them to answer them
        await wait_for(lambda: running.answered(live) > 0, within=1.0, what="a live command answered")
    early = running.answered(live)
    fake_rc.faults.release_answers("subscriptions.get")
    await running.assert_exactly_once()
    assert transport.ddp.connections == 3
    assert early == 0  # a catch-up begun on another connection does not let the new one's messages through


async def test_a_command_stamped_before_one_already_handled_is_read_back(
    running: Running,
    fake_rc: FakeRocketChat,  # noqa: F811
) -> None:
    """With several server instances, a command may be stamped earlier than one the bot already recorded; posted
    while the socket is down, only a catch-up that reads a little before its resume point finds it."""
    await running.start()
    await running.post(3)
    await wait_for(lambda: running.answered(running.ids) == 3, what="the first replies")
    await fake_rc.drop_websockets()
    await running.post(1, ts=fake_rc.store.now_ms() - 2000)
    await running.reconnected(2)
    await running.post(2)
    await running.assert_exactly_once()


async def test_a_catch_up_that_fails_is_tried_again_and_then_lets_live_messages_through(
    running: Running,
    fake_rc: FakeRocketChat,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Live messages wait for the catch-up: one that fails, even in a way nobody foresaw, must be tried again."""
    from chatbot.transport.rocketchat import transport as module

    await running.start()
    await running.post(2)
    await wait_for(lambda: running.answered(running.ids) == 2, what="the first replies")
    real = module.read_missed
    failures: list[str] = []

    async def failing_once(*args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append("history not as expected")
            raise KeyError("messages")
        return await real(*args, **kwargs)

    monkeypatch.setattr(module, "read_missed", failing_once)
    await fake_rc.drop_websockets()
    await running.post(2)
    await running.reconnected(2)
    await running.post(2)
    await running.assert_exactly_once()
    assert failures


async def test_a_catch_up_that_read_while_the_database_was_away_lets_nothing_through(
    running: Running,
    fake_rc: FakeRocketChat,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """During a database outage live messages are dropped (nothing can record them). A new connection's catch-up
    that read the history then must not open the stream when the database comes back: the recovery's catch-up
    reads what was dropped, before anything newer is recorded."""
    transport = await running.start(overlap=0)
    await running.post(2)
    await wait_for(lambda: running.answered(running.ids) == 2, what="the first replies")
    reachable = asyncio.Event()
    really_reachable = transport.database_reachable

    async def probe() -> bool:  # the outage: the bot's probe fails until the test says
        return reachable.is_set() and await really_reachable()

    monkeypatch.setattr(transport, "database_reachable", probe)
    read, resume = asyncio.Event(), asyncio.Event()
    read_posts = transport._read_reactable_posts

    async def slow_end() -> Any:  # the new connection's catch-up has read the history, and ends late
        read.set()
        await resume.wait()
        return await read_posts()

    monkeypatch.setattr(transport, "_read_reactable_posts", slow_end)
    outage = asyncio.create_task(transport._wait_for_database())  # as the worker does when a write fails
    await asyncio.sleep(0)
    await fake_rc.drop_websockets()
    await running.reconnected(2)
    await wait_for(read.is_set, what="the new connection's catch-up read")
    dropped = await running.post(2)  # live while the database is away: dropped
    fake_rc.faults.hold_answers("subscriptions.get")  # the recovery's catch-up waits a little
    reachable.set()
    await wait_for(lambda: transport.database_ok, what="the database back")
    resume.set()
    await asyncio.sleep(0.3)
    await running.post(2)
    with contextlib.suppress(AssertionError):  # time enough for a bot that lets them through to answer them
        await wait_for(lambda: running.answered(running.ids) == 6, within=1.0, what="live commands answered")
    fake_rc.faults.release_answers("subscriptions.get")
    await outage
    await running.assert_exactly_once()
    assert running.answered(dropped) == 2


async def test_a_catch_up_that_outlives_its_connection_queues_nothing(
    running: Running,
    fake_rc: FakeRocketChat,  # noqa: F811
) -> None:
    """Rooms are read one after the other. One read before the drop misses a command posted after it, which another
    room read later might be newer than; in a room with no command recorded yet (it resumes at the last instant
    recorded anywhere) that command would be left behind."""
    transport = await running.start(overlap=0)
    await running.post(1, PRIVATE)
    await wait_for(lambda: running.answered(running.ids) == 1, what="the first reply")
    fake_rc.faults.hold_answers("channels.history")  # the public room (no command recorded yet) is read first
    asked = len(fake_rc.requests_to("channels.history"))
    await transport._wait_for_database()  # back at once: its catch-up starts on connection 1
    await wait_for(lambda: len(fake_rc.requests_to("channels.history")) > asked, what="the public room read")
    await fake_rc.drop_websockets()  # the catch-up now outlives its connection
    gap = await running.post(1, ROOM)
    await running.post(1, PRIVATE)  # newer, and read by that same catch-up
    fake_rc.faults.hold_answers("subscriptions.get")  # the next connection's catch-up waits
    fake_rc.faults.release_answers("channels.history")
    await asyncio.sleep(0.5)
    await running.reconnected(2)
    fake_rc.faults.release_answers("subscriptions.get")
    await running.assert_exactly_once()
    assert running.answered(gap) == 1


async def test_a_room_whose_history_is_refused_does_not_keep_the_others_waiting(
    running: Running,
    fake_rc: FakeRocketChat,  # noqa: F811
) -> None:
    transport = await running.start()
    await running.post(1)
    await wait_for(lambda: running.answered(running.ids) == 1, what="the first reply")
    fake_rc.faults.fail_next("groups.history", n=1000, status=400)  # the private room refuses, for good
    await fake_rc.drop_websockets()
    await running.post(1)
    await running.reconnected(2)
    await running.post(2)
    await running.assert_exactly_once()
    assert transport._is_live()
