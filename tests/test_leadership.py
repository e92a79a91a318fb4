"""Leadership on PostgreSQL (advisory lock, epoch fencing), the coordination generation, SQLite's file lock."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import Settings
from chatbot.db.models import BudgetYear, Coordination, Envelope
from chatbot.leadership import (
    CoordinationState,
    Fenced,
    FileLockBusy,
    Leadership,
    SqliteFileLock,
    read_coordination,
)
from tests.conftest import Chat, started_bot


def postgres_only(bot: Bot) -> None:
    if bot.engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")


async def generation(bot: Bot) -> int:
    async with bot.sessions() as session:
        return int(await session.scalar(select(Coordination.generation)) or 0)


async def test_one_holder_at_a_time_and_each_new_holder_bumps_the_epoch(bot: Bot) -> None:
    postgres_only(bot)
    first, second = Leadership(bot.engine), Leadership(bot.engine)
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        assert first.epoch is not None
        await first.release()  # as when its process dies: PostgreSQL drops the session's lock
        assert await second.try_acquire()
        assert second.epoch == first.epoch + 1
    finally:
        await first.release()
        await second.release()


async def test_a_standby_retries_until_the_lock_is_free(bot: Bot) -> None:
    postgres_only(bot)
    active, standby = Leadership(bot.engine), Leadership(bot.engine)
    stop = asyncio.Event()
    try:
        assert await active.try_acquire()
        waiting = asyncio.create_task(standby.acquire(stop))
        await asyncio.sleep(1.5)
        assert not waiting.done()
        await active.release()
        assert await asyncio.wait_for(waiting, 5)
    finally:
        stop.set()
        await active.release()
        await standby.release()


async def test_watch_returns_when_the_lock_connection_is_cut(bot: Bot) -> None:
    postgres_only(bot)
    active = Leadership(bot.engine)
    try:
        assert await active.try_acquire()
        assert active.connection is not None
        pid = (await active.connection.execute(text("SELECT pg_backend_pid()"))).scalar()
        await active.connection.commit()
        watching = asyncio.create_task(active.watch())
        await asyncio.sleep(1.2)
        assert not watching.done()
        async with bot.engine.connect() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await asyncio.wait_for(watching, 5)
    finally:
        await active.release()


async def test_a_replica_that_lost_the_lock_cannot_commit_after_its_successor_began(bot: Bot) -> None:
    postgres_only(bot)
    old, new = Leadership(bot.engine), Leadership(bot.engine)
    try:
        assert await old.try_acquire()
        state = CoordinationState(epoch=old.epoch)
        async with bot.sessions() as session, session.begin():  # a batch of the old holder, in flight
            await read_coordination(session, state)
            await old.release()  # its lock goes (process stalled, connection cut)…
            takeover = asyncio.create_task(new.try_acquire())
            await asyncio.sleep(0.5)
            assert not takeover.done(), "the successor's bump must wait for the batch in flight"
        assert await asyncio.wait_for(takeover, 5)
        async with bot.sessions() as session, session.begin():  # the old holder's next batch
            with pytest.raises(Fenced):
                await read_coordination(session, state)
        mine = CoordinationState(epoch=new.epoch)
        async with bot.sessions() as session, session.begin():
            await read_coordination(session, mine)
    finally:
        await old.release()
        await new.release()


async def test_the_generation_moves_with_names_and_years_not_with_declarations(bot: Bot) -> None:
    start = await generation(bot)
    async with bot.sessions.begin() as session:
        await session.execute(update(Envelope).where(Envelope.slug == "tech").values(spent_cents=Envelope.spent_cents))
    assert await generation(bot) == start
    async with bot.sessions.begin() as session:
        await session.execute(update(Envelope).where(Envelope.slug == "tech").values(name="Technique et outils"))
    renamed = await generation(bot)
    assert renamed > start
    async with bot.sessions.begin() as session:
        session.add(BudgetYear(year=2026, closed_at=bot.clock.now()))
    assert await generation(bot) > renamed


async def test_a_process_sees_another_ones_change_of_names(bot: Bot) -> None:
    state = CoordinationState()
    async with bot.sessions() as session, session.begin():
        assert not await read_coordination(session, state)  # the first reading only records
    async with bot.sessions.begin() as session:  # another process (an import, psql) renames an envelope
        await session.execute(update(Envelope).where(Envelope.slug == "tech").values(name="Numérique"))
    async with bot.sessions() as session, session.begin():
        assert await read_coordination(session, state)
        assert not await read_coordination(session, state)


def test_a_second_process_on_the_same_sqlite_file_is_refused(tmp_path: Path) -> None:
    database = tmp_path / "chatbot.db"
    first, second = SqliteFileLock(database), SqliteFileLock(database)
    first.acquire()
    with pytest.raises(FileLockBusy):
        second.acquire()
    first.release()
    second.acquire()
    second.release()


async def test_a_year_closed_by_another_process_refuses_the_next_declaration_at_once(
    settings: Settings, clock: FixedClock
) -> None:
    """Two bots on one database (a replica after takeover, or `chatbot import` beside the bot): what one keeps in
    memory of open years and envelope names does not survive the other's change."""
    async with started_bot(settings, clock) as first, started_bot(settings, clock) as second:
        one, two = Chat(first), Chat(second)
        assert "enregistrée" in await two("/contrib 1h tech", user="alice")  # 2026 open, names read: both kept
        assert "créée" in await one("/budget creer fetes « Fêtes » 500")
        assert "enregistrée" in await two("/contrib 1h fetes", user="alice")  # the new name is known at once
        assert "clôturée" in await one("/budget cloturer 2026 confirmer")
        assert "L'année 2026 est clôturée" in await two("/contrib 1h tech", user="alice")
