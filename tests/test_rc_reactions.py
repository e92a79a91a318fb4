"""End to end: consent positions by reaction, the bot as a real process against the fake Rocket.Chat.

Reactions name users by username only: the transport resolves them with `users.info` (a user the server does not
know is skipped), and the positions land under the members' real user ids. Reactions changed while the bot was
not running are applied when it starts again (the posts of open rounds are read back after catch-up): one added
sets a position, one removed takes back the position it gave (not an answer given by command).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from chatbot.app import Bot
from chatbot.db.engine import make_engine
from chatbot.db.models import ConsentPosition, Member
from tests.conftest import Chat
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.rc_support import BotProcess, wait_for

ROOM = "gouvernance"  # [consent] governance_channels of config.example.toml
CONSENT, OBJECTION = ":thumbsup:", ":raised_hand:"  # commands/consent.py REACTION_KINDS


@pytest.fixture
async def scene(fake_rc: FakeRocketChat) -> FakeRocketChat:  # noqa: F811
    for name in ("dave", "erin"):
        fake_rc.add_user(name)
    fake_rc.add_channel(ROOM, ["bot", "alice", "bob", "carol", "dave", "erin"])
    return fake_rc


async def positions(database_url: str) -> dict[str, tuple[str, str, str]]:
    """username → (user id, kind, reason) of every consent position recorded."""
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(Member.username, Member.user_id, ConsentPosition.kind, ConsentPosition.reason).join(
                    Member, Member.id == ConsentPosition.member_id
                )
            )
            return {username: (user_id, kind, reason) for username, user_id, kind, reason in rows.all()}
    finally:
        await engine.dispose()


def reply_to(fake: FakeRocketChat, command: dict[str, Any]) -> str | None:
    replies = [m for m in fake.messages_in(ROOM, by="bot") if m["_id"] == f"{command['_id']}-0"]
    return replies[0]["msg"] if replies else None


async def open_round(fake: FakeRocketChat) -> dict[str, Any]:
    await fake.post_as("alice", ROOM, "/consent Adopter la charte 48h")
    await wait_for(lambda: "consent-1" in fake.store.messages, what="the round's post")
    post = fake.store.messages["consent-1"]
    assert post["u"]["username"] == "bot" and "Adopter la charte" in post["msg"]
    return post


async def test_positions_by_reaction_end_to_end(
    bot_process: BotProcess, scene: FakeRocketChat, database_url: str
) -> None:
    await bot_process.start()
    post = await open_round(scene)
    await scene.react_as("bob", "consent-1", CONSENT)
    await scene.react_as("carol", "consent-1", CONSENT)
    await scene.react_as("dave", "consent-1", OBJECTION)
    # A reactor the server does not know (a deleted account): users.info fails, the reaction is skipped.
    post["reactions"][CONSENT]["usernames"].append("ghost")
    await scene.ddp.broadcast_message(post, scene.store.room(ROOM))
    await scene.react_as("carol", "consent-1", CONSENT, add=False)
    await scene.react_as("erin", "consent-1", CONSENT)  # after the unknown user: the bot is still applying them

    async def settled() -> bool:
        return set(await positions(database_url)) == {"bob", "dave", "erin"}

    await wait_for(settled, what="the positions by reaction")
    users = scene.store
    assert await positions(database_url) == {
        "bob": (users.user("bob").id, "consent", ""),
        "dave": (users.user("dave").id, "objection", ""),  # keyed by the real user id, not by username
        "erin": (users.user("erin").id, "consent", ""),
    }
    ghost_lookups = [r for r in scene.requests_to("users.info") if r.query.get("username") == "ghost"]
    assert ghost_lookups and all(r.status == 400 for r in ghost_lookups)
    assert "ghost" in bot_process.stderr()  # logged as ignored, the process still running
    assert bot_process.process is not None and bot_process.process.returncode is None
    # Each reactor was looked up once (cached), whatever the number of their changes.
    carol_lookups = [r for r in scene.requests_to("users.info") if r.query.get("username") == "carol"]
    assert len(carol_lookups) == 1

    # The objector is asked for a reason, in the round's thread, once.
    asks = [m for m in scene.messages_in(ROOM, by="bot") if "quelle est votre raison" in m["msg"]]
    assert len(asks) == 1
    assert "@dave" in asks[0]["msg"] and "cycle n°1" in asks[0]["msg"]
    assert asks[0].get("tmid") in {"consent-1", post.get("tmid")}  # the post's thread (threads do not nest)

    show = await scene.post_as("carol", ROOM, "/consent 1")
    await wait_for(lambda: reply_to(scene, show) is not None, what="the /consent 1 reply")
    text = (reply_to(scene, show) or "").replace("\u2060", "")  # chat_safe's word joiners before names
    assert "Consentements : 2 · Réserves : 0 · Objections : 0 · Abstentions : 0" in text
    assert "Objections sans raison (non comptées) : dave" in text
    assert "Pas encore répondu : alice, carol" in text


async def test_reactions_added_while_the_bot_was_down_are_applied_at_start(
    bot_process: BotProcess, scene: FakeRocketChat, database_url: str
) -> None:
    await bot_process.start()
    await open_round(scene)
    await scene.react_as("bob", "consent-1", CONSENT)
    await wait_for(lambda: _has(database_url, "bob"), what="bob's position")
    assert await bot_process.stop() == 0
    # Nobody writes anything afterwards: history since the last command holds nothing, only the post changed.
    await scene.react_as("carol", "consent-1", CONSENT)
    await scene.react_as("dave", "consent-1", OBJECTION)
    await bot_process.start()
    await wait_for(lambda: _has(database_url, "carol", "dave"), what="positions given while the bot was down")
    recorded = await positions(database_url)
    assert {name: kind for name, (_, kind, _) in recorded.items()} == {
        "bob": "consent",
        "carol": "consent",
        "dave": "objection",
    }
    assert scene.requests_to("chat.getMessage")  # the round's post was read back
    asks = [m for m in scene.messages_in(ROOM, by="bot") if "quelle est votre raison" in m["msg"]]
    assert len(asks) == 1 and "@dave" in asks[0]["msg"]


async def test_reactions_removed_while_the_bot_was_down_take_back_their_positions(
    bot_process: BotProcess, scene: FakeRocketChat, database_url: str
) -> None:
    await bot_process.start()
    await open_round(scene)
    await scene.react_as("bob", "consent-1", CONSENT)
    await scene.react_as("dave", "consent-1", OBJECTION)
    await scene.react_as("carol", "consent-1", CONSENT)
    await wait_for(lambda: _has(database_url, "bob", "carol", "dave"), what="positions by reaction")
    # carol then answers by command (her reaction stays on the post for now), erin by command only.
    answers = [await scene.post_as(user, ROOM, "/consent 1 d'accord") for user in ("carol", "erin")]
    await wait_for(lambda: all(reply_to(scene, a) for a in answers), what="the answers by command")
    assert await bot_process.stop() == 0
    await scene.react_as("bob", "consent-1", CONSENT, add=False)
    await scene.react_as("carol", "consent-1", CONSENT, add=False)
    await bot_process.start()

    async def bobs_gone() -> bool:
        return "bob" not in await positions(database_url)

    await wait_for(bobs_gone, what="the position whose reaction was removed while the bot was down")
    recorded = await positions(database_url)
    assert {name: kind for name, (_, kind, _) in recorded.items()} == {
        "carol": "consent",  # given by command: removing her reaction does not take it back
        "dave": "objection",  # still shown on the post
        "erin": "consent",
    }
    # After the restart, a removal seen live still takes back a position given by reaction.
    await scene.react_as("dave", "consent-1", OBJECTION, add=False)

    async def daves_gone() -> bool:
        return "dave" not in await positions(database_url)

    await wait_for(daves_gone, what="dave's position")
    assert set(await positions(database_url)) == {"carol", "erin"}


async def test_a_restart_does_not_apply_again_a_reaction_a_command_overrode(
    bot_process: BotProcess, scene: FakeRocketChat, database_url: str
) -> None:
    """bob consents by 👍, then objects by command, his 👍 still on the post: the restart reads the post again and
    finds the 👍 already applied, so his objection stands (before, every reaction shown came back as added)."""
    await bot_process.start()
    await open_round(scene)
    await scene.react_as("bob", "consent-1", CONSENT)
    await wait_for(lambda: _has(database_url, "bob"), what="bob's position by reaction")
    objection = await scene.post_as("bob", ROOM, "/consent 1 objection le coût n'est pas chiffré")
    await wait_for(lambda: reply_to(scene, objection) is not None, what="the objection by command")
    assert await bot_process.stop() == 0
    await scene.react_as("carol", "consent-1", CONSENT)  # added while down: still counted
    await bot_process.start()
    await wait_for(lambda: _has(database_url, "bob", "carol"), what="carol's position given while down")
    assert scene.requests_to("chat.getMessage")  # the round's post was read back
    recorded = await positions(database_url)
    assert {name: kind for name, (_, kind, _) in recorded.items()} == {"bob": "objection", "carol": "consent"}
    assert recorded["bob"][2] == "le coût n'est pas chiffré"


async def _has(database_url: str, *usernames: str) -> bool:
    return set(usernames) <= set(await positions(database_url))


async def test_the_bot_gathers_the_watched_posts_of_its_feature_modules(chat: Chat, bot: Bot) -> None:
    """The transport reads back what `Bot.watched_posts` lists, whatever the feature: the posts of open rounds
    (consent's WATCHED_POSTS), each once; a withdrawn round's post no longer."""
    assert await bot.watched_posts() == []
    await chat("/consent Adopter la charte 48h", user="alice", room=ROOM)
    await chat("/consent Changer de banque 48h", user="bob", room=ROOM)
    assert await bot.watched_posts() == ["consent-1", "consent-2"]
    await chat("/consent 1 retirer", user="alice", room=ROOM)
    assert await bot.watched_posts() == ["consent-2"]
