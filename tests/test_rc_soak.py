"""Soak: the real bot process under a stream it cannot quite keep up with, with the websocket dropped again and again
(some drops while a catch-up is reading the history) and one SIGKILL and restart. Nothing may be missing or doubled.

Random but replayable: the seed is printed, and set with SOAK_SEED=<seed> to replay a run. SOAK_COMMANDS and
SOAK_DROPS make it longer.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from chatbot.db.engine import make_engine
from chatbot.db.models import Contribution, Envelope, ProcessedMessage
from tests.fakerc.ddp import DDPSession, Subscription
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.rc_support import BotProcess, bot_replies, enlarge_envelopes, wait_for, write_config

ROOMS = ("cercle-communication", "cercle-tech", "cercle-vie-coop")
MEMBERS = [f"m{i:03d}" for i in range(60)]
COMMANDS = {  # text → cents
    "/contrib 15min {circle} Relecture": 750,
    "/contrib 30min {circle} Accueil": 1500,
    "/contrib 1h {circle} Tri": 3000,
}
CIRCLE = {"cercle-communication": "communication", "cercle-tech": "tech", "cercle-vie-coop": "vie-coop"}
RATE = 400  # commands per second offered: more than the bot handles while catch-ups re-read the history


@pytest.fixture
async def scene(fake_rc: FakeRocketChat) -> FakeRocketChat:  # noqa: F811
    for name in MEMBERS:
        fake_rc.add_user(name)
    for room in ROOMS:
        fake_rc.add_channel(room, ["bot", *MEMBERS])
    fake_rc.add_channel("budget-contributif", ["bot"])
    return fake_rc


@pytest.fixture
async def bot_process(scene: FakeRocketChat, database_url: str, tmp_path: Path) -> AsyncIterator[BotProcess]:
    config = write_config(tmp_path, scene.url, database_url)
    enlarge_envelopes(config, list(CIRCLE.values()))
    process = BotProcess(scene, config, tmp_path)
    try:
        yield process
    finally:
        await process.stop()


class Soak:
    def __init__(self, fake: FakeRocketChat, bot: BotProcess, seed: int) -> None:
        self.fake = fake
        self.bot = bot
        self.random = random.Random(seed)
        self.posted: dict[str, tuple[str, int]] = {}  # command id → (room, cents)
        self.drops = 0
        self.drops_in_catch_up = 0
        self.killed = False
        self.dropped: set[str] = set()  # the sessions open at the last drop

    async def slow_ready(self, _session: DDPSession, subscription: Subscription) -> None:
        """A busy server: a subscription's events may flow a little before its `ready` is sent."""
        if subscription.stream == "stream-room-messages":
            await asyncio.sleep(self.random.uniform(0.0, 0.05))

    async def post(self, count: int) -> None:
        """`count` commands at RATE per second, spread over the rooms and members."""
        started = time.perf_counter()
        for i in range(count):
            await asyncio.sleep(max(0.0, started + i / RATE - time.perf_counter()))
            room = self.random.choice(ROOMS)
            text, cents = self.random.choice(list(COMMANDS.items()))
            member = MEMBERS[i % len(MEMBERS)]
            message = await self.fake.post_as(member, room, text.format(circle=CIRCLE[room]))
            self.posted[message["_id"]] = (room, cents)

    async def subscribed_again(self) -> None:
        """Until a connection other than those open at the last drop has subscribed."""

        def ready() -> bool:
            return any(s.subscriptions and s.session_id not in self.dropped for s in self.fake.sessions)

        await wait_for(ready, within=30, what="the bot subscribed again")

    def history_reads(self) -> int:
        return len(self.fake.requests_to("channels.history"))

    async def chaos(self, drops: int, duration: float) -> None:
        """`drops` websocket drops over about `duration` seconds: at a random instant, as soon as the bot has
        subscribed again, or while a catch-up reads the history, in turn; a SIGKILL and restart half-way."""
        kill_after = drops // 2
        for n in range(drops):
            await asyncio.sleep(self.random.uniform(0.05, duration / drops))
            if n % 3 == 1:  # as soon as the bot has subscribed again
                await self.subscribed_again()
            elif n % 3 == 2:  # while a catch-up reads the history
                seen = self.history_reads()
                try:
                    await wait_for(lambda seen=seen: self.history_reads() > seen, within=3, what="a history read")
                    self.drops_in_catch_up += 1
                except AssertionError:
                    pass  # no catch-up under way: drop at a random instant instead
            self.dropped = {s.session_id for s in self.fake.sessions}
            await self.fake.drop_websockets()
            self.drops += 1
            if n == kill_after:
                await asyncio.sleep(self.random.uniform(0.0, 0.5))
                await self.bot.kill()
                self.killed = True
                await asyncio.sleep(self.random.uniform(0.1, 0.5))  # commands keep coming while it is dead
                await self.bot.start(within=60)

    async def all_answered(self, commands: int, *, stall: float = 30.0) -> None:
        """Wait until every command is answered; fail once no new answer came for `stall` seconds."""
        progress, since = -1, time.monotonic()
        while (answered := self.answered()) < commands:
            if answered != progress:
                progress, since = answered, time.monotonic()
            elif time.monotonic() - since > stall:
                raise AssertionError(f"no new answer for {stall:.0f} s")
            await asyncio.sleep(0.1)

    def answers(self) -> dict[str, list[str]]:
        replies: dict[str, list[str]] = {}
        for room in ROOMS:
            for tmid, messages in bot_replies(self.fake, room).items():
                replies.setdefault(tmid, []).extend(m["_id"] for m in messages)
        return replies

    def answered(self) -> int:
        replies = self.answers()
        return sum(1 for i in self.posted if replies.get(i))


async def database_figures(url: str) -> tuple[int, int, int, int]:
    """Contributions and their total, processed messages, and what the envelopes say was spent."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            count, total = (
                await connection.execute(select(func.count(), func.coalesce(func.sum(Contribution.amount_cents), 0)))
            ).one()
            processed = await connection.scalar(select(func.count()).select_from(ProcessedMessage))
            spent = await connection.scalar(select(func.coalesce(func.sum(Envelope.spent_cents), 0)))
    finally:
        await engine.dispose()
    return int(count), int(total), int(processed or 0), int(spent or 0)


async def test_soak_drops_backlog_and_a_kill(
    bot_process: BotProcess,
    scene: FakeRocketChat,
    database_url: str,
) -> None:
    seed = int(os.environ.get("SOAK_SEED") or random.randrange(1, 10**9))
    commands = int(os.environ.get("SOAK_COMMANDS", "2000"))
    drops = int(os.environ.get("SOAK_DROPS", "12"))
    print(f"soak seed {seed} (replay: SOAK_SEED={seed})")
    soak = Soak(scene, bot_process, seed)
    scene.ddp.before_ready = soak.slow_ready
    await bot_process.start(within=60)
    duration = commands / RATE
    started = time.perf_counter()
    chaos = asyncio.create_task(soak.chaos(drops, duration))
    await soak.post(commands)
    posted = time.perf_counter() - started
    await chaos
    try:
        await soak.all_answered(commands)
        await asyncio.sleep(0.5)  # a duplicate would be posted within this time: give it the chance to show
        replies = soak.answers()
        missing = [i for i in soak.posted if not replies.get(i)]
        doubled = [i for i in soak.posted if len(replies.get(i, [])) > 1]
        assert (missing, doubled) == ([], [])
        assert all(replies[i] == [f"{i}-0"] for i in soak.posted)
        expected = sum(cents for _room, cents in soak.posted.values())
        assert await database_figures(database_url) == (commands, expected, commands, expected)
    except AssertionError as error:
        raise AssertionError(
            f"seed {seed} (replay: SOAK_SEED={seed}), {soak.drops} drops ({soak.drops_in_catch_up} during a "
            f"catch-up), answered {soak.answered()}/{commands}: {error}"
        ) from error
    print(
        f"soak: {commands} commands posted in {posted:.1f} s, all answered {time.perf_counter() - started:.1f} s "
        f"after the first; {soak.drops} drops ({soak.drops_in_catch_up} during a catch-up), one kill"
    )
    assert soak.killed and soak.drops >= 10 and soak.drops_in_catch_up >= 1
