"""The outbox: what the bot must post, stored with the effects that produced it, delivered exactly once.

Rows are written inside the transaction of the handled message (or the fired task), each with a deterministic
Rocket.Chat `_id`: a replay inserts nothing, and a crash between commit and post loses nothing. The sender posts
pending rows oldest first with `chat.sendMessage` carrying that `_id`. A row that may already have been posted (left
pending by a previous process, or after an ambiguous failure) is first looked up with `chat.getMessage`, so nothing
is posted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from sqlalchemy import event, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.clock import Clock
from chatbot.db.models import OutboxMessage, OutboxStatus
from chatbot.transport.base import Outgoing
from chatbot.transport.rocketchat.rest import AuthError, RestClient, RestError, TransientError, backoff

log = logging.getLogger(__name__)

MAX_ID_LENGTH = 64
BATCH = 100

RoomResolver = Callable[[str], Awaitable[str | None]]  # room name → room id


def message_id(key: str, index: int, chosen: str | None) -> str:
    """The feature's own id when it chose one, else `<key>-<index>`; hashed if too long for the column."""
    candidate = chosen or f"{key}-{index}"
    if len(candidate) <= MAX_ID_LENGTH:
        return candidate
    return "h" + hashlib.sha256(candidate.encode()).hexdigest()[:40]


class Outbox:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock
        self.wake = asyncio.Event()

    async def persist(self, session: AsyncSession, key: str, messages: list[Outgoing]) -> None:
        """`Bot.persist`: add the rows to the caller's transaction, skipping ids already there (a replay)."""
        rows = {message_id(key, i, m.id): m for i, m in enumerate(messages)}
        if not rows:
            return
        existing = set(
            (await session.scalars(select(OutboxMessage.message_id).where(OutboxMessage.message_id.in_(rows)))).all()
        )
        now = self.clock.now()
        for mid, message in rows.items():
            if mid in existing:
                continue
            if message.attachments:
                log.warning(
                    "outbox: %d attachment(s) of %s not sent (uploads not supported yet)", len(message.attachments), mid
                )
            session.add(
                OutboxMessage(
                    message_id=mid,
                    room_id=message.room_id,
                    room_name=None if message.room_id else message.room_name,
                    thread_id=message.thread_id,
                    text=message.text,
                    status=OutboxStatus.PENDING,
                    attempts=0,
                    last_error="",
                    created_at=now,
                )
            )
        # Wake the sender once this transaction commits.
        if not event.contains(session.sync_session, "after_commit", self._wake_after_commit):
            event.listen(session.sync_session, "after_commit", self._wake_after_commit, once=True)

    def _wake_after_commit(self, _session: object) -> None:
        self.wake.set()

    async def enqueue(self, key: str, messages: list[Outgoing]) -> None:
        """For messages produced outside a transaction of ours (`Bot.outlet`)."""
        async with self.sessions() as session, session.begin():
            await self.persist(session, key, messages)
        self.wake.set()

    async def pending(self, limit: int = BATCH) -> list[OutboxMessage]:
        async with self.sessions() as session:
            query = (
                select(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.PENDING)
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
            return list((await session.scalars(query)).all())

    async def backlog(self) -> int:
        async with self.sessions() as session:
            count = await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
            )
            return int(count or 0)

    async def mark(
        self, row_id: int, status: OutboxStatus, *, error: str = "", sent_at: datetime | None = None
    ) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(status=status, sent_at=sent_at, last_error=error[:1000], attempts=OutboxMessage.attempts + 1)
            )

    async def note_failure(self, row_id: int, error: str) -> None:
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(last_error=error[:1000], attempts=OutboxMessage.attempts + 1)
            )


class OutboxSender:
    """Delivers pending rows in order; survives REST and database outages by waiting and trying again."""

    def __init__(self, outbox: Outbox, rest: RestClient, resolve_room: RoomResolver, *, poll: float = 2.0) -> None:
        self.outbox = outbox
        self.rest = rest
        self.resolve_room = resolve_room
        self.poll = poll
        self.sent = 0
        # Ids this process has not tried yet and that may have been posted by a previous one: look them up first.
        self._tried: set[str] = set()
        self._uncertain: set[str] = set()

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                rows = await self.outbox.pending()
                for row in rows:
                    await self._deliver(row)
                failures = 0
            except (DBAPIError, OSError) as error:
                failures += 1
                log.warning("outbox: database unavailable (%s); retrying", type(error).__name__)
                await asyncio.sleep(backoff(min(failures, 6), 0.2, 5.0))
                continue
            except (TransientError, AuthError) as error:
                failures += 1
                log.warning("outbox: server unavailable (%s); retrying", error)
                await asyncio.sleep(backoff(min(failures, 6), 0.2, 10.0))
                continue
            if len(rows) == BATCH:
                continue
            self.outbox.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.outbox.wake.wait(), self.poll)

    async def _deliver(self, row: OutboxMessage) -> None:
        mid = row.message_id
        room_id = row.room_id or (await self.resolve_room(row.room_name) if row.room_name else None)
        if room_id is None:
            log.error("outbox: room %r not found; message %s not sent", row.room_name, mid)
            await self.outbox.mark(row.id, OutboxStatus.FAILED, error=f"room not found: {row.room_name}")
            return
        if mid not in self._tried or mid in self._uncertain:
            if await self._already_posted(mid):
                await self.outbox.mark(row.id, OutboxStatus.SENT, sent_at=self.outbox.clock.now())
                return
        self._tried.add(mid)
        message: dict[str, str] = {"_id": mid, "rid": room_id, "msg": row.text}
        if row.thread_id:
            message["tmid"] = row.thread_id
        try:
            await self.rest.call("chat_send_message", message)
        except RestError as error:
            if isinstance(error, AuthError):
                raise
            # A refusal may also mean "that _id exists already" (an earlier attempt went through).
            if await self._already_posted(mid):
                await self.outbox.mark(row.id, OutboxStatus.SENT, sent_at=self.outbox.clock.now())
                return
            log.error("outbox: message %s refused: %s", mid, error)
            await self.outbox.mark(row.id, OutboxStatus.FAILED, error=str(error))
            return
        except TransientError:
            self._uncertain.add(mid)  # the server may have posted it before failing
            raise
        self._uncertain.discard(mid)
        await self.outbox.mark(row.id, OutboxStatus.SENT, sent_at=self.outbox.clock.now())
        self.sent += 1

    async def _already_posted(self, mid: str) -> bool:
        try:
            reply = await self.rest.call("chat_get_message", mid)
        except AuthError:
            raise
        except RestError:
            return False
        return bool(isinstance(reply, dict) and reply.get("message"))
