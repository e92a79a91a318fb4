"""End to end: a date poll answered by reaction (:one: … :nine:) on its post, the bot as a real process against the
fake Rocket.Chat — reactions added, removed, and changed while the bot was down."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select

from chatbot.db.engine import make_engine
from chatbot.db.models import MeetingPollVote, Member
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.rc_support import BotProcess, wait_for

ROOM = "cercle-tech"  # the tech circle's public channel in config.example.toml
# Relative to the bot's own clock: tomorrow and the day after, answers closing tomorrow morning.
POLL = "/reunion sondage tech « Point budget » demain 14h | après-demain 10h jusqu'à demain 9h"


@pytest.fixture
async def scene(fake_rc: FakeRocketChat) -> FakeRocketChat:  # noqa: F811
    for name in ("dave", "erin"):
        fake_rc.add_user(name)
        fake_rc.store.room(ROOM).members.append(fake_rc.store.user(name).id)
    return fake_rc


async def votes(database_url: str) -> set[tuple[str, int, bool]]:
    """(username, slot, given by reaction) for the poll n°1."""
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(Member.username, MeetingPollVote.slot_number, MeetingPollVote.by_reaction)
                .join(Member, Member.id == MeetingPollVote.member_id)
                .where(MeetingPollVote.poll_id == 1)
            )
            return {(username, slot, bool(by_reaction)) for username, slot, by_reaction in rows.all()}
    finally:
        await engine.dispose()


def settles(database_url: str, expected: set[tuple[str, int, bool]]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await votes(database_url) == expected

    return check


async def open_poll(fake: FakeRocketChat) -> None:
    await fake.post_as("alice", ROOM, POLL)
    await wait_for(lambda: "poll-1" in fake.store.messages, what="the poll")
    post = fake.store.messages["poll-1"]
    assert ":one: " in post["msg"] and ":two: " in post["msg"] and not post.get("tmid")


async def test_slots_by_reaction_and_by_command(
    bot_process: BotProcess, scene: FakeRocketChat, database_url: str
) -> None:
    await bot_process.start()
    await open_poll(scene)
    await scene.react_as("bob", "poll-1", ":one:")
    await scene.react_as("bob", "poll-1", ":two:")
    await scene.react_as("carol", "poll-1", ":two:")
    await scene.react_as("dave", "poll-1", ":nine:")  # no ninth slot: nothing
    await scene.post_as("erin", ROOM, "/reunion sondage 1 1")
    expected = {("bob", 1, True), ("bob", 2, True), ("carol", 2, True), ("erin", 1, False)}
    await wait_for(settles(database_url, expected), what="the answers")
    await scene.react_as("bob", "poll-1", ":one:", add=False)  # taken back
    await scene.react_as("erin", "poll-1", ":two:")  # adds a slot to her answer by command
    expected = {("bob", 2, True), ("carol", 2, True), ("erin", 1, False), ("erin", 2, True)}
    await wait_for(settles(database_url, expected), what="the changed answers")


async def test_reactions_changed_while_the_bot_was_down_count_at_start(
    bot_process: BotProcess, scene: FakeRocketChat, database_url: str
) -> None:
    await bot_process.start()
    await open_poll(scene)
    await scene.react_as("bob", "poll-1", ":one:")
    await scene.post_as("carol", ROOM, "/reunion sondage 1 2")
    await wait_for(settles(database_url, {("bob", 1, True), ("carol", 2, False)}), what="the first answers")
    assert await bot_process.stop() == 0
    await scene.react_as("bob", "poll-1", ":one:", add=False)  # removed while down: goes
    await scene.react_as("dave", "poll-1", ":two:")  # added while down: counted
    await scene.react_as("carol", "poll-1", ":two:")  # already hers by command: stays by command
    await bot_process.start()
    await wait_for(
        settles(database_url, {("carol", 2, False), ("dave", 2, True)}),
        what="the reactions changed while the bot was down",
    )
