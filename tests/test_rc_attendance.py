"""End to end: who comes to a meeting, by reaction to its announcement, the bot as a real process against the fake
Rocket.Chat — reactions added, removed, and changed while the bot was down."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select

from chatbot.db.engine import make_engine
from chatbot.db.models import MeetingAttendance, Member
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.rc_support import BotProcess, wait_for

ROOM = "cercle-tech"  # the tech circle's public channel in config.example.toml
YES, MAYBE, NO = ":white_check_mark:", ":grey_question:", ":x:"  # commands/reunion.py REACTION_ANSWERS


@pytest.fixture
async def scene(fake_rc: FakeRocketChat) -> FakeRocketChat:  # noqa: F811
    for name in ("dave", "erin"):
        fake_rc.add_user(name)
        fake_rc.store.room(ROOM).members.append(fake_rc.store.user(name).id)
    return fake_rc


async def answers(database_url: str) -> dict[str, tuple[str, bool]]:
    """username → (answer, given by reaction) for the meeting n°1."""
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(Member.username, MeetingAttendance.answer, MeetingAttendance.by_reaction)
                .join(Member, Member.id == MeetingAttendance.member_id)
                .where(MeetingAttendance.meeting_id == 1)
            )
            return {username: (answer, bool(by_reaction)) for username, answer, by_reaction in rows.all()}
    finally:
        await engine.dispose()


async def announce(fake: FakeRocketChat) -> None:
    await fake.post_as("alice", ROOM, "/reunion tech jeudi 14h-16h visio Ordre du jour : budget")
    await wait_for(lambda: "meeting-1" in fake.store.messages, what="the announcement")


def settles(database_url: str, expected: dict[str, tuple[str, bool]]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await answers(database_url) == expected

    return check


async def test_who_comes_by_reaction_and_by_command(
    bot_process: BotProcess, scene: FakeRocketChat, database_url: str
) -> None:
    await bot_process.start()
    await announce(scene)
    await scene.react_as("bob", "meeting-1", YES)
    await scene.react_as("carol", "meeting-1", MAYBE)
    await scene.react_as("dave", "meeting-1", NO)
    await scene.post_as("erin", ROOM, "/reunion 1 je viens")
    expected = {"bob": ("yes", True), "carol": ("maybe", True), "dave": ("no", True), "erin": ("yes", False)}
    await wait_for(settles(database_url, expected), what="the answers")
    await scene.react_as("carol", "meeting-1", MAYBE, add=False)  # taken back
    await scene.react_as("erin", "meeting-1", NO)  # changes her answer, now by reaction
    expected = {"bob": ("yes", True), "dave": ("no", True), "erin": ("no", True)}
    await wait_for(settles(database_url, expected), what="the changed answers")


async def test_reactions_changed_while_the_bot_was_down_count_at_start(
    bot_process: BotProcess, scene: FakeRocketChat, database_url: str
) -> None:
    await bot_process.start()
    await announce(scene)
    await scene.react_as("bob", "meeting-1", YES)
    await scene.post_as("carol", ROOM, "/reunion 1 absent")
    await wait_for(
        settles(database_url, {"bob": ("yes", True), "carol": ("no", False)}),
        what="the first answers",
    )
    assert await bot_process.stop() == 0
    await scene.react_as("bob", "meeting-1", YES, add=False)  # removed while down: his answer goes
    await scene.react_as("dave", "meeting-1", MAYBE)  # added while down: counted
    await bot_process.start()
    await wait_for(
        settles(database_url, {"carol": ("no", False), "dave": ("maybe", True)}),
        what="the reactions changed while the bot was down",
    )


async def test_a_restart_keeps_an_answer_changed_by_command_after_a_reaction(
    bot_process: BotProcess, scene: FakeRocketChat, database_url: str
) -> None:
    """bob says ✅ by reaction then `absent` by command, his ✅ still on the post: after a restart the ✅ is no
    news (it was applied before), so he stays absent; a reaction added while down still counts."""
    await bot_process.start()
    await announce(scene)
    await scene.react_as("bob", "meeting-1", YES)
    await wait_for(settles(database_url, {"bob": ("yes", True)}), what="bob's reaction")
    await scene.post_as("bob", ROOM, "/reunion 1 absent")
    await wait_for(settles(database_url, {"bob": ("no", False)}), what="bob's answer by command")
    assert await bot_process.stop() == 0
    # ❌ comes after ✅ in the order the post's changes are applied: once dave's answer is in, bob's ✅ was seen.
    await scene.react_as("dave", "meeting-1", NO)
    await bot_process.start()
    await wait_for(
        settles(database_url, {"bob": ("no", False), "dave": ("no", True)}),
        what="the reaction added while the bot was down",
    )
