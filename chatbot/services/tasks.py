"""Scheduled tasks as rows: what features ask for (a reminder at 13:00), not how it gets woken up."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatbot.clock import Clock
from chatbot.db.models import ScheduledTask, TaskStatus


class TaskService:
    def __init__(self, session: AsyncSession, clock: Clock) -> None:
        self.session = session
        self.clock = clock
        self.created: list[ScheduledTask] = []  # for the scheduler to watch once the transaction commits

    async def schedule(self, kind: str, ref_id: int, due_at: datetime, note: str = "") -> ScheduledTask:
        if due_at.tzinfo is None:
            raise ValueError("a task's due_at must be timezone-aware")
        task = ScheduledTask(
            kind=kind,
            ref_id=ref_id,
            due_at=due_at,
            status=TaskStatus.PENDING,
            attempts=0,
            late=False,
            created_at=self.clock.now(),
            note=note,
        )
        self.session.add(task)
        await self.session.flush()
        self.created.append(task)
        return task

    async def cancel(self, kinds: Sequence[str], ref_id: int) -> int:
        """Withdraw the pending tasks of these kinds about `ref_id`; returns how many were pending."""
        result = await self.session.execute(
            update(ScheduledTask)
            .where(
                ScheduledTask.kind.in_(list(kinds)),
                ScheduledTask.ref_id == ref_id,
                ScheduledTask.status == TaskStatus.PENDING,
            )
            .values(status=TaskStatus.CANCELLED)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def pending(self, kinds: Sequence[str], ref_id: int) -> list[ScheduledTask]:
        query = (
            select(ScheduledTask)
            .where(
                ScheduledTask.kind.in_(list(kinds)),
                ScheduledTask.ref_id == ref_id,
                ScheduledTask.status == TaskStatus.PENDING,
            )
            .order_by(ScheduledTask.due_at)
        )
        return list((await self.session.scalars(query)).all())
