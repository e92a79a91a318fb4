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
from dataclasses import dataclass

from sqlalchemy import event, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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
        # One writer at a time inside this process: on SQLite a second writer would wait in the driver's busy
        # handler (sleeps of up to 100 ms); queueing here costs nothing. The intake holds it while handling.
        self.write_lock = asyncio.Lock()

    async def persist(self, session: AsyncSession, key: str, messages: list[Outgoing]) -> None:
        """`Bot.persist`: add the rows to the caller's transaction; an id already there (a replay) is left alone."""
        now = self.clock.now()
        values = []
        for index, message in enumerate(messages):
            mid = message_id(key, index, message.id)
            if message.attachments:
                log.warning(
                    "outbox: %d attachment(s) of %s not sent (uploads not supported yet)", len(message.attachments), mid
                )
            values.append(
                {
                    "message_id": mid,
                    "room_id": message.room_id,
                    "room_name": None if message.room_id else message.room_name,
                    "thread_id": message.thread_id,
                    "text": message.text,
                    "status": OutboxStatus.PENDING,
                    "attempts": 0,
                    "last_error": "",
                    "created_at": now,
                }
            )
        if not values:
            return
        dialect = session.get_bind().dialect.name
        if dialect in ("sqlite", "postgresql"):
            insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
            statement = insert(OutboxMessage).on_conflict_do_nothing(index_elements=["message_id"])
            await session.execute(statement, values)
        else:  # pragma: no cover - the two supported databases take the branch above
            ids = [v["message_id"] for v in values]
            existing = set(
                (await session.scalars(select(OutboxMessage.message_id).where(OutboxMessage.message_id.in_(ids)))).all()
            )
            session.add_all(OutboxMessage(**v) for v in values if v["message_id"] not in existing)
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

    async def last_id(self) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(select(func.max(OutboxMessage.id))) or 0)

    async def record(self, outcomes: list[Outcome]) -> None:
        """Mark a batch sent or failed, in one transaction."""
        if not outcomes:
            return
        now = self.clock.now()
        async with self.write_lock, self.sessions() as session, session.begin():
            await session.execute(
                update(OutboxMessage),
                [
                    {
                        "id": o.row.id,
                        "status": o.status,
                        "attempts": o.row.attempts + 1,
                        "last_error": o.error[:1000],
                        "sent_at": now if o.status is OutboxStatus.SENT else None,
                    }
                    for o in outcomes
                ],
            )


@dataclass
class Outcome:
    row: OutboxMessage
    status: OutboxStatus
    error: str = ""


class OutboxSender:
    """Delivers pending rows; survives REST and database outages by waiting and trying again.

    Rows of one thread (or room) go one after another, in order; different threads go side by side, a few at a
    time. Outcomes are recorded in one transaction per batch: should that fail, the rows stay pending and the next
    attempt asks the server before posting again (it would refuse a duplicate `_id` anyway).
    """

    def __init__(
        self, outbox: Outbox, rest: RestClient, resolve_room: RoomResolver, *, poll: float = 2.0, concurrency: int = 8
    ) -> None:
        self.outbox = outbox
        self.rest = rest
        self.resolve_room = resolve_room
        self.poll = poll
        self.concurrency = concurrency
        self.sent = 0
        # Rows up to this id were written before this process started: a previous one may have posted them.
        self._inherited_upto: int | None = None
        self._uncertain: set[str] = set()

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                full = await self.deliver_pending()
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
            if full:
                continue
            self.outbox.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.outbox.wake.wait(), self.poll)

    async def deliver_pending(self) -> bool:
        """One batch; True when it was full (more may be waiting)."""
        if self._inherited_upto is None:
            self._inherited_upto = await self.outbox.last_id()
        rows = await self.outbox.pending()
        groups: dict[tuple[str | None, str | None, str | None], list[OutboxMessage]] = {}
        for row in rows:
            groups.setdefault((row.room_id, row.room_name, row.thread_id), []).append(row)
        limit = asyncio.Semaphore(self.concurrency)
        outcomes: list[Outcome] = []
        errors: list[Exception] = []

        async def send_group(group: list[OutboxMessage]) -> None:
            async with limit:
                for row in group:
                    try:
                        outcomes.append(await self._deliver(row))
                    except (TransientError, AuthError) as error:
                        errors.append(error)
                        return  # keep this thread's order: its later rows wait for the next attempt

        await asyncio.gather(*(send_group(g) for g in groups.values()))
        try:
            await self.outbox.record(outcomes)
        except BaseException:
            self._uncertain |= {o.row.message_id for o in outcomes}
            raise
        self.sent += sum(o.status is OutboxStatus.SENT for o in outcomes)
        if errors:
            raise errors[0]
        return len(rows) == BATCH

    async def _deliver(self, row: OutboxMessage) -> Outcome:
        mid = row.message_id
        room_id = row.room_id or (await self.resolve_room(row.room_name) if row.room_name else None)
        if room_id is None:
            log.error("outbox: room %r not found; message %s not sent", row.room_name, mid)
            return Outcome(row, OutboxStatus.FAILED, f"room not found: {row.room_name}")
        inherited = self._inherited_upto is not None and row.id <= self._inherited_upto
        if (inherited or mid in self._uncertain) and await self._already_posted(mid):
            self._uncertain.discard(mid)
            return Outcome(row, OutboxStatus.SENT)
        message: dict[str, str] = {"_id": mid, "rid": room_id, "msg": row.text}
        if row.thread_id:
            message["tmid"] = row.thread_id
        try:
            await self.rest.call("chat_send_message", message)
        except AuthError:
            raise
        except RestError as error:
            # A refusal may also mean "that _id exists already" (an earlier attempt went through).
            if await self._already_posted(mid):
                self._uncertain.discard(mid)
                return Outcome(row, OutboxStatus.SENT)
            log.error("outbox: message %s refused: %s", mid, error)
            return Outcome(row, OutboxStatus.FAILED, str(error))
        except TransientError:
            self._uncertain.add(mid)  # the server may have posted it before failing
            raise
        self._uncertain.discard(mid)
        return Outcome(row, OutboxStatus.SENT)

    async def _already_posted(self, mid: str) -> bool:
        try:
            reply = await self.rest.call("chat_get_message", mid)
        except AuthError:
            raise
        except RestError:
            return False
        return bool(isinstance(reply, dict) and reply.get("message"))
