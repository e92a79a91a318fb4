"""SQLite on the event loop: a writer waiting for another's lock yields the loop instead of blocking it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from chatbot.db import sqlite_inloop
from chatbot.db.engine import make_engine


async def _table(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE counter (n INTEGER)"))
        await connection.execute(text("INSERT INTO counter VALUES (0)"))
    await engine.dispose()


async def test_a_second_writer_waits_without_blocking_the_loop(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'lock.db'}"
    await _table(url)
    engine = make_engine(url)
    ticks = 0
    holder_has_lock = asyncio.Event()
    release = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    async def holder() -> None:
        async with engine.begin() as connection:  # BEGIN IMMEDIATE: the write lock, until commit
            await connection.execute(text("UPDATE counter SET n = n + 1"))
            holder_has_lock.set()
            await release.wait()

    async def second() -> int:
        await holder_has_lock.wait()
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE counter SET n = n + 10"))
            return int((await connection.execute(text("SELECT n FROM counter"))).scalar_one())

    tick = asyncio.create_task(ticker())
    first, waiting = asyncio.create_task(holder()), asyncio.create_task(second())
    await holder_has_lock.wait()
    before = ticks
    await asyncio.sleep(0.2)
    assert not waiting.done()  # still waiting for the lock…
    assert ticks - before >= 10  # …while the loop kept running
    release.set()
    await first
    assert await asyncio.wait_for(waiting, 5) == 11  # then it ran, after the first writer's commit
    tick.cancel()
    await engine.dispose()


async def test_a_lock_held_too_long_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_inloop, "LOCK_WAIT", 0.2)
    url = f"sqlite+aiosqlite:///{tmp_path / 'held.db'}"
    await _table(url)
    engine = make_engine(url)
    async with engine.begin() as holding:
        await holding.execute(text("UPDATE counter SET n = 1"))
        other = make_engine(url)
        with pytest.raises(OperationalError, match="locked"):
            async with other.begin() as connection:
                await connection.execute(text("UPDATE counter SET n = 2"))
        await other.dispose()
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT n FROM counter"))).scalar_one() == 1
    await engine.dispose()


async def test_statement_errors_are_sqlites_own(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'errors.db'}")
    async with engine.connect() as connection:
        with pytest.raises(OperationalError, match="no such table"):
            await connection.execute(text("SELECT * FROM missing"))
        assert (await connection.execute(text("SELECT 1 + 1"))).scalar_one() == 2
    await engine.dispose()
