"""The outbox: what the bot must post, stored with the effects that produced it, delivered exactly once.

Rows are written inside the transaction of the handled message (or the fired task), each with a deterministic
Rocket.Chat `_id`: a replay inserts nothing, and a crash between commit and post loses nothing. The sender posts
pending rows oldest first with `chat.sendMessage` carrying that `_id`. A row that may already have been posted (left
pending by a previous process, or after an ambiguous failure) is first looked up with `chat.getMessage`, so nothing
is posted twice.

A file (an export) travels in the row that carries its message: the sender uploads it (`rooms.media`), records the
server's upload id in the row, then confirms the upload with the text (`rooms.mediaConfirm`, in the thread when the
reply is threaded). Rocket.Chat lets no client choose the id of that message and posts again at every confirmation,
so the guarantees are: an upload made but never confirmed is invisible (Rocket.Chat discards it after 24 hours) and
is confirmed, not sent again, after a restart; a confirmation whose outcome is unknown (an error answer, a lost
reply, a crash before the row was marked sent) is first looked up in the room's last 100 messages (thread replies
included) for a message carrying that upload id, and confirmed again only if none does. A duplicate is therefore
possible only if more than 100 messages were posted in the room between the lost confirmation and the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, event, func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from chatbot.clock import Clock
from chatbot.db.engine import read_only
from chatbot.db.models import OutboxMessage, OutboxStatus
from chatbot.metrics import Metrics
from chatbot.transport.base import Attachment, Outgoing
from chatbot.transport.rocketchat.rest import AuthError, RestClient, RestError, TransientError, backoff

log = logging.getLogger(__name__)

MAX_ID_LENGTH = 64
BATCH = 100
LOOKUP_COUNT = 100  # how many of a room's latest messages are searched for an uncertain upload's message
HISTORY_ENDPOINT = {"c": "channels.history", "p": "groups.history", "d": "dm.history"}

RoomResolver = Callable[[str], Awaitable[str | None]]  # room name → room id
MAX_FRESH = 300  # rows kept in memory for the sender; beyond, it reads them from the database (see _after_commit)
RECORD_DELAY = 0.1  # seconds an outcome may wait to be recorded with others, while the sender runs
SETTLED_MEMORY = 20_000  # message ids recorded lately, remembered
_COMMITTED_ROWS = "outbox_rows"  # session.info key: the rows this session's transaction wrote
_WITHHELD = "outbox_withheld"  # session.info key: some of them must be read from the table
_RECORD = (
    update(OutboxMessage)
    .where(OutboxMessage.message_id == bindparam("mid"))
    .values(
        status=bindparam("status"),
        attempts=OutboxMessage.attempts + 1,
        last_error=bindparam("last_error"),
        sent_at=bindparam("sent_at"),
    )
)


def message_id(key: str, index: int, chosen: str | None) -> str:
    """The feature's own id when it chose one, else `<key>-<index>`; hashed if too long for the column."""
    candidate = chosen or f"{key}-{index}"
    if len(candidate) <= MAX_ID_LENGTH:
        return candidate
    return "h" + hashlib.sha256(candidate.encode()).hexdigest()[:40]


def file_row_id(mid: str, index: int) -> str:
    """The row of a message's second, third… file (each upload is its own Rocket.Chat message)."""
    candidate = f"{mid}.{index}"
    if len(candidate) <= MAX_ID_LENGTH:
        return candidate
    return "h" + hashlib.sha256(candidate.encode()).hexdigest()[:40]


class Outbox:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock
        self.wake = asyncio.Event()
        # Rows this process committed, handed to the sender in memory (the database stays the record: the sender
        # also reads it at start, after any failure, and every few seconds). `overflowed`: some were not kept.
        self.fresh: deque[OutboxMessage] = deque()
        self.overflowed = False
        # One writer at a time inside this process: on SQLite a second writer would wait in the driver's busy
        # handler (sleeps of up to 100 ms); queueing here costs nothing. The intake holds it while handling.
        self.write_lock = asyncio.Lock()

    async def persist_many(self, session: AsyncSession, said: Sequence[tuple[str, list[Outgoing]]]) -> None:
        """`Bot.persist`: add the rows to the caller's transaction, in one statement; an id already there (a
        replay) is left alone. `said`: pairs of a key unique to the source and the messages it produced."""
        now = self.clock.now()
        values = []
        for key, index, message in ((k, i, m) for k, messages in said for i, m in enumerate(messages)):
            mid = message_id(key, index, message.id)
            # The text goes with the first file; any further file is a message of its own, right after it.
            files: list[Attachment | None] = list(message.attachments) or [None]
            for number, attachment in enumerate(files):
                values.append(
                    {
                        "message_id": mid if number == 0 else file_row_id(mid, number),
                        "room_id": message.room_id,
                        "room_name": None if message.room_id else message.room_name,
                        "thread_id": message.thread_id,
                        "text": message.text if number == 0 else "",
                        "status": OutboxStatus.PENDING,
                        "attempts": 0,
                        "last_error": "",
                        "created_at": now,
                        "file_name": attachment.filename if attachment else None,
                        "file_type": attachment.mime_type if attachment else None,
                        "file_content": attachment.content if attachment else None,
                        "file_id": None,
                    }
                )
        if not values:
            return
        dialect = session.get_bind().dialect.name
        if dialect in ("sqlite", "postgresql"):
            insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
            statement = insert(OutboxMessage).on_conflict_do_nothing(index_elements=["message_id"])
            connection = await session.connection()  # Core: the ORM's bulk-insert bookkeeping is not needed
            await connection.execute(statement, values)
        else:  # pragma: no cover - the two supported databases take the branch above
            ids = [v["message_id"] for v in values]
            existing = set(
                (await session.scalars(select(OutboxMessage.message_id).where(OutboxMessage.message_id.in_(ids)))).all()
            )
            session.add_all(OutboxMessage(**v) for v in values if v["message_id"] not in existing)
        # Once this transaction commits, the sender gets the rows from memory (no need to read them back) and is
        # woken. Rows written inside a savepoint (which may still be undone) or carrying a file stay out of memory;
        # then the whole transaction's rows do, so that its sender reads them from the table, in order.
        if session.in_nested_transaction() or any(v["file_content"] is not None for v in values):
            session.info[_WITHHELD] = True
        else:
            session.info.setdefault(_COMMITTED_ROWS, []).extend(values)
        sync = session.sync_session
        if not event.contains(sync, "after_commit", self._after_commit):
            event.listen(sync, "after_commit", self._after_commit)
            event.listen(sync, "after_rollback", self._after_rollback)

    def _after_commit(self, session: Any) -> None:
        if session.get_nested_transaction() is not None:
            return  # a savepoint released (SQLAlchemy says "commit" for it too): the transaction goes on
        rows = session.info.pop(_COMMITTED_ROWS, [])
        if session.info.pop(_WITHHELD, False) or len(self.fresh) + len(rows) > MAX_FRESH:
            self.overflowed = True  # the sender reads the table next
        else:
            self.fresh.extend(OutboxMessage(**row) for row in rows)
        self.wake.set()

    def _after_rollback(self, session: Any) -> None:
        if session.get_nested_transaction() is None:
            session.info.pop(_COMMITTED_ROWS, None)
            session.info.pop(_WITHHELD, None)

    def take_fresh(self, limit: int) -> list[OutboxMessage]:
        """Rows committed by this process since the last call (not yet read from the database), oldest first."""
        return [self.fresh.popleft() for _ in range(min(limit, len(self.fresh)))]

    async def enqueue(self, key: str, messages: list[Outgoing]) -> None:
        """For messages produced outside a transaction of ours (`Bot.outlet`)."""
        async with self.sessions() as session, session.begin():
            await self.persist_many(session, [(key, messages)])
        self.wake.set()

    async def pending(self, limit: int = BATCH) -> list[OutboxMessage]:
        async with self.sessions() as session:
            await read_only(session)
            query = (
                select(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.PENDING)
                .order_by(OutboxMessage.id)
                .limit(limit)
            )
            return list((await session.scalars(query)).all())

    async def backlog(self) -> int:
        async with self.sessions() as session:
            await read_only(session)
            count = await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
            )
            return int(count or 0)

    async def last_id(self) -> int:
        async with self.sessions() as session:
            await read_only(session)
            return int(await session.scalar(select(func.max(OutboxMessage.id))) or 0)

    async def remember_upload(self, row_id: int, file_id: str | None) -> None:
        """Record (or forget, with None) the server's id of a row's upload, committed before it is confirmed."""
        async with self.write_lock, self.sessions() as session, session.begin():
            await session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(file_id=file_id))

    async def record(self, outcomes: list[Outcome]) -> None:
        """Mark rows sent or failed (by message id: rows handed over in memory have no row id), in one
        transaction."""
        if not outcomes:
            return
        now = self.clock.now()
        async with self.write_lock, self.sessions() as session, session.begin():
            connection = await session.connection()  # Core executemany: no ORM bookkeeping
            await connection.execute(
                _RECORD,
                [
                    {
                        "mid": o.row.message_id,
                        "status": o.status,
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

    Rows come from memory when this process just committed them (`Outbox.fresh`), else from the database: at
    start, after any failure, when memory overflowed, and every `poll` seconds. A row is claimed (by message id)
    when taken, so that neither source hands it twice. Rows of one thread (or room) go one after another, in order;
    different threads go side by side, a few at a time.

    Outcomes are recorded in the database in batches (at least every RECORD_DELAY seconds while running, at once
    in `deliver_pending`): a row sent but not yet recorded stays claimed, so this process never sends it again;
    after a crash it is pending, and the next process asks the server before posting it (`chat.getMessage`).
    """

    def __init__(
        self,
        outbox: Outbox,
        rest: RestClient,
        resolve_room: RoomResolver,
        *,
        poll: float = 2.0,
        concurrency: int = 8,
        metrics: Metrics | None = None,
    ) -> None:
        self.outbox = outbox
        self.rest = rest
        self.resolve_room = resolve_room
        self.poll = poll
        self.concurrency = concurrency
        self.sent = 0
        self.metrics = metrics or Metrics()
        # Rows up to this id were written before this process started: a previous one may have posted them.
        self._inherited_upto: int | None = None
        self._uncertain: set[str] = set()
        self._claimed: set[str] = set()  # message ids taken and not yet recorded
        self._settled: dict[str, None] = {}  # message ids recorded lately (a stale copy in memory is skipped)
        self._unrecorded: list[Outcome] = []
        self._more_in_database = False  # the last database read was full: read it again next
        self._unrecorded_since = 0.0

    async def run(self) -> None:
        failures = 0
        from_database_at = 0.0  # when the database was last read: at once at start
        while True:
            # Cleared before reading: a commit made while this round runs wakes the next one at once.
            self.outbox.wake.clear()
            try:
                read_database = (
                    self.outbox.overflowed
                    or failures > 0
                    or self._more_in_database
                    or time.monotonic() - from_database_at >= self.poll
                )
                if read_database:
                    self.outbox.overflowed = False
                    from_database_at = time.monotonic()
                full = await self.deliver_pending(from_memory=not read_database, record=False)
                if self._unrecorded and (
                    len(self._unrecorded) >= BATCH or time.monotonic() - self._unrecorded_since >= RECORD_DELAY
                ):
                    await self.flush()
                failures = 0
            except Exception as error:
                failures += 1
                self.metrics.failed("outbox", error)
                await asyncio.sleep(backoff(min(failures, 6), 0.2, _retry_cap(error)))
                continue
            if full:
                continue
            wait = self.poll - (time.monotonic() - from_database_at)
            if self._unrecorded:
                wait = min(wait, RECORD_DELAY - (time.monotonic() - self._unrecorded_since))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.outbox.wake.wait(), max(wait, 0.0))

    async def deliver_pending(self, *, from_memory: bool = False, record: bool = True) -> bool:
        """One batch, from memory or (by default) from the database; True when more may be waiting. With `record`
        (the default), everything sent so far is recorded before returning."""
        if self._inherited_upto is None:
            self._inherited_upto = await self.outbox.last_id()
        if from_memory:
            taken = self.outbox.take_fresh(BATCH)
            full = bool(self.outbox.fresh)
        else:
            taken = await self.outbox.pending(BATCH + len(self._claimed))
            full = self._more_in_database = len(taken) == BATCH + len(self._claimed)
            # Memory's copies of the rows just read go; rows committed during the read stay for the next round.
            read = {row.message_id for row in taken}
            if any(row.message_id in read for row in self.outbox.fresh):
                self.outbox.fresh = deque(row for row in self.outbox.fresh if row.message_id not in read)
        rows = [r for r in taken if r.message_id not in self._claimed and r.message_id not in self._settled]
        self._claimed.update(r.message_id for r in rows)
        groups: dict[tuple[str | None, str | None, str | None], list[OutboxMessage]] = {}
        for row in rows:
            groups.setdefault((row.room_id, row.room_name, row.thread_id), []).append(row)
        limit = asyncio.Semaphore(self.concurrency)
        outcomes: list[Outcome] = []
        errors: list[Exception] = []

        async def send_group(group: list[OutboxMessage]) -> None:
            async with limit:
                for index, row in enumerate(group):
                    try:
                        outcomes.append(await self._deliver(row))
                    except Exception as error:  # the server, or the database while recording an upload
                        errors.append(error)
                        # Keep this thread's order: this row and the later ones wait for the next attempt.
                        self._claimed.difference_update(r.message_id for r in group[index:])
                        return

        await asyncio.gather(*(send_group(g) for g in groups.values()))
        if outcomes and not self._unrecorded:
            self._unrecorded_since = time.monotonic()
        self._unrecorded += outcomes
        self.sent += sum(o.status is OutboxStatus.SENT for o in outcomes)
        self.metrics.replies_sent(o.row.message_id for o in outcomes if o.status is OutboxStatus.SENT)
        if record:
            await self.flush()
        if errors:
            raise errors[0]
        return full

    async def flush(self) -> None:
        """Record the outcomes not recorded yet; on failure they are kept (still claimed) for the next flush."""
        outcomes, self._unrecorded = self._unrecorded, []
        try:
            await self.outbox.record(outcomes)
        except BaseException:
            self._unrecorded = outcomes + self._unrecorded
            raise
        for outcome in outcomes:
            self._claimed.discard(outcome.row.message_id)
            self._settled[outcome.row.message_id] = None
        while len(self._settled) > SETTLED_MEMORY:
            del self._settled[next(iter(self._settled))]

    async def _deliver(self, row: OutboxMessage) -> Outcome:
        mid = row.message_id
        room_id = row.room_id or (await self.resolve_room(row.room_name) if row.room_name else None)
        if room_id is None:
            log.error("outbox: room %r not found; message %s not sent", row.room_name, mid)
            return Outcome(row, OutboxStatus.FAILED, f"room not found: {row.room_name}")
        inherited = row.id is not None and self._inherited_upto is not None and row.id <= self._inherited_upto
        if row.file_content is not None:
            return await self._deliver_file(row, room_id, inherited)
        if (inherited or mid in self._uncertain) and await self._already_posted(mid):
            self._uncertain.discard(mid)
            return Outcome(row, OutboxStatus.SENT)
        message: dict[str, str] = {"_id": mid, "rid": room_id, "msg": row.text}
        if row.thread_id:
            message["tmid"] = row.thread_id
        try:
            await self.rest.send_message(message)
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
            reply = await self.rest.get_message(mid)
        except AuthError:
            raise
        except RestError:
            return False
        return bool(isinstance(reply, dict) and reply.get("message"))

    async def _deliver_file(self, row: OutboxMessage, room_id: str, inherited: bool, *, again: bool = True) -> Outcome:
        """Upload (unless an earlier attempt did and recorded it), then confirm once: see the module's docstring."""
        mid = row.message_id
        if row.file_id is not None and (inherited or mid in self._uncertain):
            if await self._upload_posted(room_id, row.file_id):
                self._uncertain.discard(mid)
                return Outcome(row, OutboxStatus.SENT)
        if row.file_id is None:
            assert row.file_content is not None
            upload = (row.file_name or "fichier", row.file_content, row.file_type or "application/octet-stream")
            try:
                # Safe to repeat: an upload nobody confirms never shows and expires.
                reply = await self.rest.upload(room_id, upload)
            except AuthError:
                raise
            except RestError as error:
                log.error("outbox: upload of %s refused: %s", mid, error)
                return Outcome(row, OutboxStatus.FAILED, str(error))
            file_id = _upload_id(reply)
            if file_id is None:
                log.error("outbox: upload of %s answered without a file id: %r", mid, reply)
                return Outcome(row, OutboxStatus.FAILED, "upload answered without a file id")
            await self.outbox.remember_upload(row.id, file_id)  # before confirming: a restart reuses it
            row.file_id = file_id
        confirm: dict[str, str] = {"msg": row.text}
        if row.thread_id:
            confirm["tmid"] = row.thread_id
        try:
            await self.rest.confirm_upload(room_id, row.file_id, **confirm)
        except AuthError:
            raise
        except RestError as error:
            if await self._upload_posted(room_id, row.file_id):
                self._uncertain.discard(mid)
                return Outcome(row, OutboxStatus.SENT)
            if again and "invalid-file" in f"{error.error_type} {error.error}":
                # The upload is gone (expired after 24 hours, or the server lost it): upload the file again.
                log.warning("outbox: upload of %s expired; uploading it again", mid)
                await self.outbox.remember_upload(row.id, None)
                row.file_id = None
                return await self._deliver_file(row, room_id, inherited, again=False)
            log.error("outbox: file message %s refused: %s", mid, error)
            return Outcome(row, OutboxStatus.FAILED, str(error))
        except TransientError:
            self._uncertain.add(mid)  # the server may have posted it before failing
            raise
        self._uncertain.discard(mid)
        return Outcome(row, OutboxStatus.SENT)

    async def _upload_posted(self, room_id: str, file_id: str) -> bool:
        """Whether a message carrying this upload is among the room's latest messages (thread replies included)."""
        try:
            info = await self.rest.room_info(room_id=room_id)
            room = info.get("room") if isinstance(info, dict) else None
            endpoint = HISTORY_ENDPOINT.get(room.get("t", "")) if isinstance(room, dict) else None
            if endpoint is None:
                return False
            reply = await self.rest.get(endpoint, roomId=room_id, count=str(LOOKUP_COUNT), showThreadMessages="true")
        except AuthError:
            raise
        except RestError as error:
            log.warning("outbox: cannot look up upload %s in room %s: %s", file_id, room_id, error)
            return False
        messages = reply.get("messages", []) if isinstance(reply, dict) else []
        return any(file_id in _file_ids(m) for m in messages if isinstance(m, dict))


def _retry_cap(error: Exception) -> float:
    """Log why delivery stopped; the longest wait (seconds) before trying again."""
    if isinstance(error, (DBAPIError, OSError)):
        log.warning("outbox: database unavailable (%s); retrying", type(error).__name__)
        return 5.0
    if isinstance(error, (TransientError, AuthError)):
        log.warning("outbox: server unavailable (%s); retrying", error)
    else:
        log.exception("outbox: delivery failed; retrying")
    return 10.0


def _upload_id(reply: Any) -> str | None:
    file = reply.get("file") if isinstance(reply, dict) else None
    file_id = file.get("_id") if isinstance(file, dict) else None
    return file_id if isinstance(file_id, str) and file_id else None


def _file_ids(message: dict[str, Any]) -> set[str]:
    files = [message.get("file"), *(message.get("files") or [])]
    return {f["_id"] for f in files if isinstance(f, dict) and isinstance(f.get("_id"), str)}
