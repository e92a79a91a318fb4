"""The scheduler facade: tasks are rows, fire once, fire late rather than never, survive restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from chatbot.app import Bot
from chatbot.clock import FixedClock
from chatbot.config import Settings
from chatbot.db.models import ScheduledTask, TaskStatus
from chatbot.scheduler import MAX_ATTEMPTS, Firing
from chatbot.services import Services
from chatbot.transport.base import Outgoing
from tests.conftest import NOW


class Recorder:
    """A task handler that says which task fired and whether it was late; it can be told to fail or to skip."""

    def __init__(self) -> None:
        self.fired: list[tuple[int, bool]] = []
        self.fail = False
        self.skip_late = False

    async def __call__(self, firing: Firing) -> list[Outgoing]:
        if self.fail:
            raise RuntimeError("boom")
        if self.skip_late and firing.late:
            firing.skip("too late to matter")
            return []
        self.fired.append((firing.task.ref_id, firing.late))
        return [Outgoing(text=f"tâche {firing.task.ref_id}", room_name="general", is_reply=False)]


async def schedule(bot: Bot, ref_id: int, due_at: datetime, kind: str = "test") -> int:
    async with bot.sessions.begin() as session:
        task = await Services.bind(session, bot.settings, bot.clock).tasks.schedule(kind, ref_id, due_at)
        return task.id


async def status_of(bot: Bot, task_id: int) -> ScheduledTask:
    async with bot.sessions() as session:
        task = await session.get(ScheduledTask, task_id)
        assert task is not None
        return task


def wire(bot: Bot) -> tuple[Recorder, list[Outgoing]]:
    recorder = Recorder()
    delivered: list[Outgoing] = []

    async def outlet(messages: list[Outgoing]) -> None:
        delivered.extend(messages)

    bot.scheduler.register("test", recorder)
    bot.outlet = outlet
    return recorder, delivered


async def test_fires_at_its_instant_and_only_once(bot: Bot, clock: FixedClock) -> None:
    recorder, delivered = wire(bot)
    task_id = await schedule(bot, 1, NOW + timedelta(hours=1))
    assert await bot.scheduler.run_due() == 0
    clock.advance(timedelta(minutes=59))
    assert await bot.scheduler.run_due() == 0
    clock.advance(timedelta(minutes=1))
    assert await bot.scheduler.run_due() == 1
    assert await bot.scheduler.run_due() == 0
    assert recorder.fired == [(1, False)]
    assert [m.text for m in delivered] == ["tâche 1"]
    task = await status_of(bot, task_id)
    assert (task.status, task.attempts, task.late) == (TaskStatus.DONE, 1, False)


async def test_concurrent_wakeups_fire_once(bot: Bot, clock: FixedClock) -> None:
    recorder, _ = wire(bot)
    task_id = await schedule(bot, 7, NOW)
    results = await asyncio.gather(*(bot.scheduler.fire(task_id) for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]
    assert recorder.fired == [(7, False)]


async def test_oldest_first_and_late_marked(bot: Bot, clock: FixedClock) -> None:
    recorder, _ = wire(bot)
    await schedule(bot, 2, NOW + timedelta(hours=2))
    await schedule(bot, 1, NOW + timedelta(hours=1))
    await schedule(bot, 3, NOW + timedelta(hours=3, minutes=58))
    clock.advance(timedelta(hours=4))  # the bot was "down": 1 and 2 are late, 3 is within the grace period
    assert await bot.scheduler.run_due() == 3
    assert recorder.fired == [(1, True), (2, True), (3, False)]


async def test_cancelled_tasks_never_fire(bot: Bot, clock: FixedClock) -> None:
    recorder, _ = wire(bot)
    task_id = await schedule(bot, 4, NOW + timedelta(minutes=10))
    async with bot.sessions.begin() as session:
        assert await Services.bind(session, bot.settings, bot.clock).tasks.cancel(["test"], 4) == 1
    clock.advance(timedelta(hours=1))
    assert await bot.scheduler.run_due() == 0
    assert recorder.fired == []
    assert (await status_of(bot, task_id)).status == TaskStatus.CANCELLED


async def test_late_task_may_be_skipped_with_its_reason_kept(bot: Bot, clock: FixedClock) -> None:
    recorder, delivered = wire(bot)
    recorder.skip_late = True
    task_id = await schedule(bot, 5, NOW)
    clock.advance(timedelta(hours=2))
    await bot.scheduler.run_due()
    task = await status_of(bot, task_id)
    assert (task.status, task.note, task.late) == (TaskStatus.SKIPPED, "too late to matter", True)
    assert delivered == []


async def test_failing_handler_is_retried_then_given_up(bot: Bot, clock: FixedClock) -> None:
    recorder, _ = wire(bot)
    recorder.fail = True
    task_id = await schedule(bot, 6, NOW)
    for attempt in range(1, MAX_ATTEMPTS):
        await bot.scheduler.run_due()
        task = await status_of(bot, task_id)
        assert (task.status, task.attempts) == (TaskStatus.PENDING, attempt)
    await bot.scheduler.run_due()
    assert (await status_of(bot, task_id)).status == TaskStatus.FAILED
    recorder.fail = False
    assert await bot.scheduler.run_due() == 0


async def test_task_of_unknown_kind_is_marked_failed_not_lost(bot: Bot) -> None:
    wire(bot)
    task_id = await schedule(bot, 8, NOW, kind="nobody-handles-this")
    await bot.scheduler.run_due()
    task = await status_of(bot, task_id)
    assert task.status == TaskStatus.FAILED and "no handler" in task.note


async def test_pending_tasks_survive_a_restart(settings: Settings, clock: FixedClock) -> None:
    first = Bot.create(settings, clock=clock)
    await first.start(auto_migrate=False)
    await schedule(first, 9, NOW + timedelta(minutes=30))
    await first.close()

    clock.advance(timedelta(hours=5))  # down across the task's instant
    second = Bot.create(settings, clock=clock)
    await second.start(auto_migrate=False)
    try:
        recorder, _ = wire(second)
        assert await second.scheduler.run_due() == 1
        assert recorder.fired == [(9, True)]
    finally:
        await second.close()


async def test_apscheduler_wakes_a_past_due_task_at_start(settings: Settings) -> None:
    """The real wake-up path: APScheduler on the system clock fires a row already due when the bot starts."""
    from chatbot.clock import SystemClock

    bot = Bot.create(settings, clock=SystemClock(settings.timezone))
    await bot.start(auto_migrate=False)
    done = asyncio.Event()
    delivered: list[Outgoing] = []

    async def outlet(messages: list[Outgoing]) -> None:
        delivered.extend(messages)
        done.set()

    recorder = Recorder()
    bot.scheduler.register("test", recorder)
    bot.outlet = outlet
    await schedule(bot, 10, datetime.now(UTC) - timedelta(minutes=1))
    try:
        await bot.scheduler.start()
        await asyncio.wait_for(done.wait(), timeout=10)
        assert recorder.fired == [(10, False)]
        async with bot.sessions() as session:
            statuses = (await session.scalars(select(ScheduledTask.status))).all()
        assert statuses == [TaskStatus.DONE]
    finally:
        await bot.close()
