"""End to end: an election without candidates, the bot as a real process against the fake Rocket.Chat.

Nominations in direct messages stay out of the room until the reveal; the proposal's consent round takes positions
by reaction, also reactions changed while the bot was down; its adoption elects the nominee."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from chatbot.db.engine import make_engine
from chatbot.db.models import ConsentPosition, Member
from chatbot.text import visible
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.rc_support import BotProcess, wait_for

ROOM = "gouvernance"  # [consent] governance_channels of config.example.toml
CONSENT = ":thumbsup:"  # commands/consent.py REACTION_KINDS


@pytest.fixture
async def scene(fake_rc: FakeRocketChat) -> FakeRocketChat:  # noqa: F811
    for name in ("dave", "erin", "caro1"):
        fake_rc.add_user(name)
    fake_rc.add_channel(ROOM, ["bot", "alice", "bob", "carol", "dave", "erin"])
    for name in ("bob", "dave"):
        fake_rc.add_dm(name, "bot")
    return fake_rc


async def consents(database_url: str) -> set[str]:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(Member.username)
                .join(ConsentPosition, ConsentPosition.member_id == Member.id)
                .where(ConsentPosition.kind == "consent")
            )
            return set(rows.scalars().all())
    finally:
        await engine.dispose()


def bot_texts(fake: FakeRocketChat, room: str) -> list[str]:
    return [visible(m["msg"]) for m in fake.messages_in(room, by="bot")]


async def command(fake: FakeRocketChat, user: str, room: str, text: str, expect: str) -> str:
    """Post a command and wait for a bot message in that room containing `expect`."""
    before = len(bot_texts(fake, room))
    await fake.post_as(user, room, text)

    def answered() -> bool:
        return any(expect in t for t in bot_texts(fake, room)[before:])

    await wait_for(answered, what=f"{expect!r} in {room}")
    return next(t for t in bot_texts(fake, room)[before:] if expect in t)


async def test_an_election_end_to_end(bot_process: BotProcess, scene: FakeRocketChat, database_url: str) -> None:
    await bot_process.start()
    await command(scene, "alice", ROOM, '/election ouvrir "Co-gérance" mandat 2 ans', "Élection sans candidat n°1")
    post: dict[str, Any] = scene.store.messages["election-1"]
    assert post["u"]["username"] == "bot" and not post.get("tmid")
    # Nominations in direct messages: the nominee is an exact member of the room, a look-alike is refused.
    reply = await command(scene, "bob", "bob,bot", "/election 1 nommer @caro1 oui", "rien n'est enregistré")
    assert "parmi les membres de #gouvernance" in reply
    await command(scene, "bob", "bob,bot", "/election 1 nommer @carol elle anime bien", "vous nommez carol")
    await command(scene, "dave", "dave,bot", "/election 1 nommer @carol très claire", "vous nommez carol")
    assert not any("anime bien" in t or "très claire" in t for t in bot_texts(scene, ROOM))
    revealed = await command(scene, "alice", ROOM, "/election 1 reveler", "révélées ensemble")
    assert "bob nomme **carol** : « elle anime bien »" in revealed and "carol : 2" in revealed
    await command(scene, "alice", ROOM, "/election 1 proposer @carol 48h", "Cycle de consentement n°1")
    round_post = scene.store.messages["consent-1"]
    assert "Élire @" in visible(round_post["msg"]) and not round_post.get("tmid")
    # The consent round's reactions, as for any round.
    await scene.react_as("bob", "consent-1", CONSENT)
    await scene.react_as("dave", "consent-1", CONSENT)
    await wait_for(lambda: _equals(database_url, {"bob", "dave"}), what="positions by reaction")
    # Changed while the bot was down: bob's reaction removed, erin's added.
    assert await bot_process.stop() == 0
    await scene.react_as("bob", "consent-1", CONSENT, add=False)
    await scene.react_as("erin", "consent-1", CONSENT)
    await bot_process.start()
    await wait_for(lambda: _equals(database_url, {"dave", "erin"}), what="the reactions changed while down")
    await command(scene, "alice", ROOM, "/consent 1 clore", "Cycle n°1 adopté")
    state = await command(scene, "bob", ROOM, "/election 1", "Élu·e")
    assert "✅ Élu·e : carol (décision D-1 du registre)." in state


async def _equals(database_url: str, expected: set[str]) -> bool:
    return await consents(database_url) == expected
