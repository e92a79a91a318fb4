"""Two replicas of `chatbot run` on one PostgreSQL database, as real processes against the fake Rocket.Chat: one
active, one standby; a SIGKILL, a cut database connection or a restart never gets a command handled twice or lost,
and a due reminder is posted once across the takeover."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import make_url

from chatbot.db.engine import make_engine
from chatbot.db.models import ScheduledTask, TaskStatus
from tests.conftest import PG_SKIP_REASON, _truncate_postgres
from tests.fakerc.fixtures import fake_rc  # noqa: F401
from tests.fakerc.server import FakeRocketChat
from tests.rc_support import BotProcess, TcpProxy, postgres_via, wait_for, write_config
from tests.test_rc_e2e import answered, assert_exactly_once, burst, scene  # noqa: F401  (scene: the fixture)

pytestmark = pytest.mark.postgres


@pytest.fixture
async def database(postgres_url: str | None) -> str:
    if postgres_url is None:
        pytest.skip(PG_SKIP_REASON)
    await asyncio.to_thread(_truncate_postgres, postgres_url)
    return postgres_url


@pytest.fixture
async def processes() -> AsyncIterator[list[BotProcess]]:
    started: list[BotProcess] = []
    try:
        yield started
    finally:
        for process in started:
            await process.stop()


def replica(fake: FakeRocketChat, tmp_path: Path, name: str, url: str, started: list[BotProcess]) -> BotProcess:
    folder = tmp_path / name
    folder.mkdir()
    process = BotProcess(fake, write_config(folder, fake.url, url), folder)
    started.append(process)
    return process


async def test_the_standby_takes_over_a_killed_active_replica_and_every_command_is_answered_once(
    scene: FakeRocketChat,  # noqa: F811
    tmp_path: Path,
    database: str,
    processes: list[BotProcess],
) -> None:
    first = replica(scene, tmp_path, "a", database, processes)
    second = replica(scene, tmp_path, "b", database, processes)
    await first.start()
    await second.start(standby=True)
    status, health = await second.health()
    assert (status, health["role"]) == (200, "standby")
    assert (await first.health())[1]["role"] == "active"

    ids = await burst(scene, 60)
    await wait_for(lambda: answered(scene, ids) >= 10, what="the first replies")
    await first.kill()
    killed_at = asyncio.get_running_loop().time()
    ids += await burst(scene, 30, start=60)  # while the standby takes over
    await wait_for(second.websocket_ready, within=15, what="the standby to take over")
    assert asyncio.get_running_loop().time() - killed_at < 5 + 1  # within 5 s (and the health poll's second)
    await assert_exactly_once(scene, ids, database)

    await first.start(standby=True)  # the old active one, restarted, waits as a standby
    assert await second.role() == "active"
    more = await burst(scene, 20, start=90)
    await assert_exactly_once(scene, ids + more, database)


async def test_an_active_replica_cut_from_the_database_stops_and_the_standby_takes_over(
    scene: FakeRocketChat,  # noqa: F811
    tmp_path: Path,
    database: str,
    processes: list[BotProcess],
) -> None:
    parsed = make_url(database)
    proxy = TcpProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    await proxy.start()
    try:
        first = replica(scene, tmp_path, "a", postgres_via(database, proxy.port), processes)
        second = replica(scene, tmp_path, "b", database, processes)
        await first.start()
        await second.start(standby=True)
        ids = await burst(scene, 40)
        await wait_for(lambda: answered(scene, ids) >= 5, what="the first replies")
        await proxy.cut()  # the active one's connections (its lock's too) are reset; the standby's stay up
        ids += await burst(scene, 30, start=40)
        await wait_for(second.websocket_ready, within=15, what="the standby to take over")
        await assert_exactly_once(scene, ids, database)
        assert await first.role() == "standby"  # it ended its term, and waits: the lock is the other's
        assert "n'est plus l'active" in first.stderr()
        await proxy.restore()
        await asyncio.sleep(2)  # the old one reaches the database again: it must stay a standby
        assert await first.role() == "standby" and await second.role() == "active"
    finally:
        await proxy.close()


async def test_a_reminder_due_across_a_takeover_is_posted_once(
    scene: FakeRocketChat,  # noqa: F811
    tmp_path: Path,
    database: str,
    processes: list[BotProcess],
) -> None:
    first = replica(scene, tmp_path, "a", database, processes)
    second = replica(scene, tmp_path, "b", database, processes)
    await first.start()
    await second.start(standby=True)
    await scene.post_as("alice", "cercle-tech", "/reunion tech demain 14h Point d'étape")
    engine = make_engine(database)
    try:

        async def reminders_pending() -> bool:
            async with engine.connect() as connection:
                return bool(
                    (await connection.execute(select(ScheduledTask.id).where(ScheduledTask.kind == "meeting_reminder")))
                    .scalars()
                    .all()
                )

        await wait_for(reminders_pending, what="the meeting's reminders")
        await first.kill()  # before the reminder is due: its successor fires it
        async with engine.begin() as connection:  # the 24 h reminder, due in a few seconds
            first_reminder = (
                (
                    await connection.execute(
                        select(ScheduledTask.id)
                        .where(ScheduledTask.kind == "meeting_reminder", ScheduledTask.status == TaskStatus.PENDING)
                        .order_by(ScheduledTask.due_at)
                    )
                )
                .scalars()
                .first()
            )
            await connection.execute(
                update(ScheduledTask)
                .where(ScheduledTask.id == first_reminder)
                .values(due_at=datetime.now(UTC) + timedelta(seconds=3))
            )
        await wait_for(second.websocket_ready, within=15, what="the standby to take over")

        def posted() -> int:
            return sum("⏰ Rappel" in m["msg"] for m in scene.messages_in("cercle-tech", by="bot"))

        await wait_for(lambda: posted() == 1, within=30, what="the reminder")
        await first.start(standby=True)
        await asyncio.sleep(3)
        assert posted() == 1
        async with engine.connect() as connection:
            status = await connection.scalar(select(ScheduledTask.status).where(ScheduledTask.id == first_reminder))
        assert status == TaskStatus.DONE
    finally:
        await engine.dispose()
