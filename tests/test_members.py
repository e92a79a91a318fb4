"""Member rows: created on first contact, once, and the one `chatbot import` made becomes the member's own."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from chatbot.app import Bot
from chatbot.db.models import Member
from tests.conftest import Chat, message


async def members(bot: Bot) -> list[tuple[str, str]]:
    async with bot.sessions() as session:
        return [(m.user_id, m.username) for m in await session.scalars(select(Member).order_by(Member.id))]


async def test_the_member_an_import_created_becomes_the_accounts_own(chat: Chat, bot: Bot) -> None:
    async with bot.sessions.begin() as session:
        session.add(Member(user_id="import:alice", username="alice", created_at=bot.clock.now()))
    await chat("/contrib 2h tech Relecture", user="alice")
    assert await members(bot) == [("id-alice", "alice")]


async def test_only_the_exact_account_takes_an_imported_member_over(chat: Chat, bot: Bot) -> None:
    async with bot.sessions.begin() as session:
        session.add(Member(user_id="import:alice", username="alice", created_at=bot.clock.now()))
    await chat("/contrib 2h tech Relecture", user="alice_")
    assert await members(bot) == [("import:alice", "alice"), ("id-alice_", "alice_")]


async def test_a_members_first_messages_side_by_side_make_one_member(bot: Bot) -> None:
    first = [message(f"/contrib {n}h tech Essai {n}", user="nouvelle") for n in (1, 2, 3)]
    replies = await asyncio.gather(*(bot.handle(m) for m in first))
    assert all("✅" in out[0].text for out in replies)
    assert await members(bot) == [("id-nouvelle", "nouvelle")]
