"""End to end: votes by reaction to a ballot's post, the bot as a real process against the fake Rocket.Chat —
reactions added, removed, changed while the bot was down; a secret ballot refuses reactions and takes its votes in
direct messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import select, text

from chatbot.db.engine import make_engine
from chatbot.db.models import BallotVote, Member
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.rc_support import BotProcess, wait_for

ROOM = "cercle-tech"
FOR, AGAINST, ABSTAIN = ":white_check_mark:", ":x:", ":white_circle:"  # commands/vote.py REACTION_CHOICES


@pytest.fixture
async def scene(fake_rc: FakeRocketChat) -> FakeRocketChat:  # noqa: F811
    for name in ("dave", "erin"):
        fake_rc.add_user(name)
        fake_rc.store.room(ROOM).members.append(fake_rc.store.user(name).id)
    return fake_rc


async def query(database_url: str, sql: str) -> list[tuple[object, ...]]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in (await connection.execute(text(sql))).all()]
    finally:
        await engine.dispose()


async def votes(database_url: str) -> dict[str, tuple[str, bool]]:
    """username → (choice, given by reaction) in the ballot n°1."""
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(Member.username, BallotVote.choice, BallotVote.by_reaction)
                .join(Member, Member.id == BallotVote.member_id)
                .where(BallotVote.ballot_id == 1)
            )
            return {username: (choice, bool(by_reaction)) for username, choice, by_reaction in rows.all()}
    finally:
        await engine.dispose()


def settles(database_url: str, expected: dict[str, tuple[str, bool]]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await votes(database_url) == expected

    return check


def from_bot(fake: FakeRocketChat, dm: str) -> list[dict[str, object]]:
    """The bot's messages in a direct room, none while the room does not exist yet."""
    try:
        return fake.messages_in(dm, by="bot")
    except KeyError:
        return []


async def open_ballot(fake: FakeRocketChat, line: str) -> None:
    await fake.post_as("alice", ROOM, line)
    await wait_for(lambda: "vote-1" in fake.store.messages, what="the ballot's post")


async def test_votes_by_reaction_and_by_command(
    bot_process: BotProcess, scene: FakeRocketChat, database_url: str
) -> None:
    await bot_process.start()
    await open_ballot(scene, "/vote « Approuver les comptes 2026 » 48h")
    post = scene.store.messages["vote-1"]
    assert post.get("tmid") is None  # a top-level post of the room
    await scene.react_as("bob", "vote-1", FOR)
    await scene.react_as("carol", "vote-1", AGAINST)
    await scene.react_as("dave", "vote-1", ABSTAIN)
    await scene.post_as("erin", ROOM, "/vote 1 pour")
    expected = {"bob": ("pour", True), "carol": ("contre", True), "dave": ("abstention", True), "erin": ("pour", False)}
    await wait_for(settles(database_url, expected), what="the votes")
    await scene.react_as("carol", "vote-1", AGAINST, add=False)  # taken back
    await scene.react_as("erin", "vote-1", AGAINST)  # changes her vote, now by reaction
    expected = {"bob": ("pour", True), "dave": ("abstention", True), "erin": ("contre", True)}
    await wait_for(settles(database_url, expected), what="the changed votes")


async def test_reactions_changed_while_the_bot_was_down_count_at_start(
    bot_process: BotProcess, scene: FakeRocketChat, database_url: str
) -> None:
    await bot_process.start()
    await open_ballot(scene, "/vote « Approuver les comptes 2026 » 48h")
    await scene.react_as("bob", "vote-1", FOR)
    await scene.post_as("carol", ROOM, "/vote 1 contre")
    await wait_for(settles(database_url, {"bob": ("pour", True), "carol": ("contre", False)}), what="the votes")
    assert await bot_process.stop() == 0
    await scene.react_as("bob", "vote-1", FOR, add=False)  # removed while down: his vote goes
    await scene.react_as("dave", "vote-1", ABSTAIN)  # added while down: counted
    await bot_process.start()
    await wait_for(
        settles(database_url, {"carol": ("contre", False), "dave": ("abstention", True)}),
        what="the reactions changed while the bot was down",
    )


async def test_secret_ballot_refuses_reactions_and_votes_in_direct_messages(
    bot_process: BotProcess, scene: FakeRocketChat, database_url: str
) -> None:
    await bot_process.start()
    scene.add_dm("alice", "bot")
    await open_ballot(scene, "/vote « Élire le conseil » 48h secret")
    await scene.react_as("bob", "vote-1", FOR)
    await wait_for(lambda: len(from_bot(scene, "bob,bot")) == 1, what="the direct message to bob")
    [told] = from_bot(scene, "bob,bot")
    assert "ne compte pas" in str(told["msg"]) and "/vote 1 pour" in str(told["msg"])
    await scene.post_as("alice", "alice,bot", "/vote 1 contre")
    await wait_for(lambda: len(from_bot(scene, "alice,bot")) == 1, what="the acknowledgement")
    [ack] = from_bot(scene, "alice,bot")
    assert "scrutin secret n°1 est enregistré" in str(ack["msg"]) and "contre" not in str(ack["msg"])
    assert await query(database_url, "SELECT ballot_id FROM ballot_voter") == [(1,)]
    tally = dict(await query(database_url, "SELECT choice, count FROM ballot_tally"))  # type: ignore[arg-type]
    assert tally == {"pour": 0, "contre": 1, "abstention": 0}  # bob's reaction counted for nothing
    assert await query(database_url, "SELECT count(*) FROM ballot_vote") == [(0,)]
