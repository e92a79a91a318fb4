"""Facade over APScheduler 3.x: the only module that touches it.

The database is the source of truth. At start the facade loads every pending task row and asks APScheduler to
wake it at its instant (an instant already past wakes it at once); a periodic sweep catches anything else. A firing
claims its row with a conditional UPDATE before doing anything, so a task never fires twice, even if two wake-ups
race. A task that fell due more than `grace` ago is handed to its handler marked late: the handler sends it late,
says so, or skips it (meeting already over) and logs why; it is never dropped silently.

Tests never wait: they move an injected clock and call `run_due()`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.clock import Clock
from chatbot.config import Settings
from chatbot.db.models import ScheduledTask, TaskStatus
from chatbot.formatting import Formatter
from chatbot.leadership import Fenced
from chatbot.messages import Catalogue
from chatbot.metrics import Metrics
from chatbot.services import Services
from chatbot.transport.base import MembersOf, Outgoing

log = logging.getLogger(__name__)

DEFAULT_GRACE = timedelta(minutes=5)
SWEEP_SECONDS = 60
MAX_ATTEMPTS = 5


@dataclass
class Firing:
    """One task being carried out, inside the transaction that claimed it."""

    task: ScheduledTask
    now: datetime
    late: bool
    services: Services
    settings: Settings
    t: Catalogue
    fmt: Formatter
    members_of: MembersOf | None = None  # who is in a room, when the transport can tell

    def skip(self, reason: str) -> None:
        """Mark the task skipped (it no longer makes sense), with the reason kept on the row and in the log."""
        self.task.status = TaskStatus.SKIPPED
        self.task.note = reason
        log.info("task %s (%s #%s) skipped: %s", self.task.id, self.task.kind, self.task.ref_id, reason)


TaskHandler = Callable[[Firing], Awaitable[list[Outgoing]]]
Deliver = Callable[[list[Outgoing]], Awaitable[None]]
# Records what handled messages or a fired task make the bot say, inside the transaction of their effects (the
# Rocket.Chat outbox, see `Bot.use_outbox`): the session, and pairs of a key unique to the source ("<message id>"
# or "task-<id>", from which deterministic message ids are derived) and the messages.
Persist = Callable[[AsyncSession, Sequence[tuple[str, list[Outgoing]]]], Awaitable[None]]


class Scheduler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        clock: Clock,
        t: Catalogue,
        fmt: Formatter,
        deliver: Deliver,
        *,
        grace: timedelta = DEFAULT_GRACE,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock
        self.t = t
        self.fmt = fmt
        self.deliver = deliver
        self.grace = grace
        self._handlers: dict[str, TaskHandler] = {}
        self.members_of: MembersOf | None = None
        self._aps: AsyncIOScheduler | None = None
        self.persist: Persist | None = None
        self.metrics = Metrics()  # the bot's, once it sets its own
        # Read at the start of each firing's transaction: raises when this process is no longer the active one.
        self.fence: Callable[[AsyncSession], Awaitable[None]] | None = None

    def register(self, kind: str, handler: TaskHandler) -> None:
        if kind in self._handlers:
            raise ValueError(f"a handler for {kind!r} is already registered")
        self._handlers[kind] = handler

    async def start(self) -> None:
        """Rebuild the wake-ups from the pending rows, then sweep periodically."""
        self._aps = AsyncIOScheduler(timezone=UTC)
        self._aps.start()
        async with self.sessions() as session:
            pending = (
                await session.scalars(select(ScheduledTask).where(ScheduledTask.status == TaskStatus.PENDING))
            ).all()
        self.watch(pending)
        self._aps.add_job(
            self.run_due,
            "interval",
            seconds=SWEEP_SECONDS,
            id="sweep",
            misfire_grace_time=None,
            coalesce=True,
            max_instances=1,
        )

    async def shutdown(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None

    def watch(self, tasks: Iterable[ScheduledTask]) -> None:
        """Ask APScheduler to wake these tasks at their instant (no-op until started, e.g. in tests)."""
        if self._aps is None:
            return
        for task in tasks:
            self._aps.add_job(
                self.fire,
                "date",
                run_date=task.due_at,
                args=[task.id],
                id=f"task-{task.id}",
                replace_existing=True,
                misfire_grace_time=None,  # never drop a wake-up because it came late: the row decides
                coalesce=True,
            )

    async def run_due(self) -> int:
        """Fire every pending task whose instant has come, oldest first; returns how many fired."""
        now = self.clock.now()
        async with self.sessions() as session:
            due = (
                await session.scalars(
                    select(ScheduledTask.id)
                    .where(ScheduledTask.status == TaskStatus.PENDING, ScheduledTask.due_at <= now)
                    .order_by(ScheduledTask.due_at, ScheduledTask.id)
                )
            ).all()
        fired = 0
        for task_id in due:
            fired += await self.fire(task_id)
        return fired

    async def fire(self, task_id: int) -> bool:
        now = self.clock.now()
        outgoing: list[Outgoing] = []
        try:
            async with self.sessions() as session, session.begin():
                if self.fence is not None:
                    await self.fence(session)  # a replica that is no longer the active one fires nothing
                claimed = await session.execute(
                    update(ScheduledTask)
                    .where(
                        ScheduledTask.id == task_id,
                        ScheduledTask.status == TaskStatus.PENDING,
                        ScheduledTask.due_at <= now,
                    )
                    .values(status=TaskStatus.DONE, fired_at=now, attempts=ScheduledTask.attempts + 1)
                )
                if claimed.rowcount != 1:  # type: ignore[attr-defined]
                    return False
                task = await session.get(ScheduledTask, task_id, populate_existing=True)
                assert task is not None
                task.late = now - task.due_at > self.grace
                handler = self._handlers.get(task.kind)
                if handler is None:
                    task.status = TaskStatus.FAILED
                    task.note = "no handler for this kind of task"
                    log.error("task %s: no handler for kind %r", task_id, task.kind)
                else:
                    services = Services.bind(session, self.settings, self.clock)
                    firing = Firing(task, now, task.late, services, self.settings, self.t, self.fmt, self.members_of)
                    outgoing = await handler(firing)
                    self.watch(services.tasks.created)
                    if self.persist is not None and outgoing:
                        await self.persist(session, [(f"task-{task_id}", outgoing)])
                        outgoing = []
        except Fenced:
            return False  # another replica is the active one: it fires this task, this one writes nothing more
        except Exception as error:
            log.exception("task %s failed", task_id)
            self.metrics.task_failed(error)
            await self._count_failure(task_id)
            return False
        self.metrics.task_fired(task.kind, task.status, task.late)
        if outgoing:
            await self.deliver(outgoing)
        return True

    async def _count_failure(self, task_id: int) -> None:
        async with self.sessions() as session, session.begin():
            task = await session.get(ScheduledTask, task_id)
            if task is None or task.status != TaskStatus.PENDING:
                return
            task.attempts += 1
            if task.attempts >= MAX_ATTEMPTS:
                task.status = TaskStatus.FAILED
                task.note = "gave up after repeated failures"
