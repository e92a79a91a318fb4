"""One active replica at a time, elected by PostgreSQL itself, and the coordination row every process reads.

Every `chatbot run` on PostgreSQL asks for a session-level advisory lock (`pg_try_advisory_lock`) on a connection
of its own, again every second until it gets it. The holder is the active replica: it subscribes to Rocket.Chat,
handles commands, sends the outbox and fires the scheduled tasks. PostgreSQL releases the lock when the holder's
process dies or its connection is cut, and a standby takes over within a second or two.

Fencing, by epoch: the new holder bumps `coordination.epoch` before it handles anything, and every transaction of
the active replica reads that row FOR SHARE and stops (`Fenced`) if the epoch is no longer its own. The bump waits
for a transaction holding the share lock to end, and a transaction that starts after the bump sees it: whatever
the old holder commits, it commits before its successor starts its catch-up. Checking that the lock's connection
is alive would leave a gap between the check and the commit; the epoch closes it at the cost of reading one row.

The same row carries `generation`, which database triggers bump when envelopes or years change (any process):
a process forgets the names and open years it keeps between messages when it moved.

On SQLite there is one writer: a second `chatbot run` (or console) on the same file is refused at start by a lock
on a file beside the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from chatbot.db.models import Coordination

log = logging.getLogger(__name__)

LOCK_KEY = 0x636F6F7062  # "coopb": the advisory lock every replica of this database asks for
RETRY_SECONDS = 1.0
WATCH_SECONDS = 1.0


class Fenced(Exception):
    """This process is no longer the active replica: another one took over. Nothing more may be committed."""


@dataclass
class CoordinationState:
    """What a process last read of the coordination row."""

    epoch: int | None = None  # the epoch this process holds as the active replica (None: not fencing)
    generation: int | None = None


# Built once, run as Core statements on the session's connection: this is the first statement of every batch.
_READ = select(Coordination.epoch, Coordination.generation).where(Coordination.id == 1)
_READ_FOR_SHARE = _READ.with_for_update(read=True)  # a successor's bump waits for the transaction holding it


async def read_coordination(session: AsyncSession, state: CoordinationState) -> bool:
    """In a batch's transaction: stop (Fenced) if another replica became active; True if the budget's names and
    years changed since the last reading (the caller forgets what it keeps of them)."""
    connection = await session.connection()
    fencing = state.epoch is not None and connection.dialect.name == "postgresql"
    row = (await connection.execute(_READ_FOR_SHARE if fencing else _READ)).one_or_none()
    if row is None:  # a database migrated before the coordination row existed: nothing to coordinate
        return False
    epoch, generation = row
    if state.epoch is not None and epoch != state.epoch:
        raise Fenced(f"epoch {epoch}, this process holds {state.epoch}")
    changed = state.generation is not None and generation != state.generation
    state.generation = generation
    return changed


async def ensure_coordination_row(connection: AsyncConnection) -> None:
    """The row the migration seeds, put back if a restore or a truncation removed it."""
    if (await connection.execute(select(Coordination.id).where(Coordination.id == 1))).first() is None:
        await connection.execute(insert(Coordination).values(id=1, epoch=0, generation=0))


class Leadership:
    """The advisory lock on a dedicated connection, and the epoch it was won at."""

    def __init__(self, engine: AsyncEngine, key: int = LOCK_KEY) -> None:
        self.engine = engine
        self.key = key
        self.connection: AsyncConnection | None = None
        self.epoch: int | None = None

    async def try_acquire(self) -> bool:
        """One attempt: True once this process holds the lock (and has bumped the epoch)."""
        if self.connection is None:
            self.connection = await self.engine.connect()
        got = (await self.connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})).scalar()
        await self.connection.commit()  # the lock is the session's: it outlives this transaction
        if not got:
            return False
        async with self.engine.begin() as bump:
            await ensure_coordination_row(bump)
            result = await bump.execute(
                update(Coordination)
                .where(Coordination.id == 1)
                .values(epoch=Coordination.epoch + 1)
                .returning(Coordination.epoch)
            )
            self.epoch = result.scalar_one()
        log.info("active replica (epoch %s)", self.epoch)
        return True

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Retry every second until the lock is ours (True) or `stop` is set (False). A database that cannot be
        reached is tried again, as a standby waits out a restart of PostgreSQL."""
        while not stop.is_set():
            try:
                if await self.try_acquire():
                    return True
            except Exception as error:  # the database is away: this replica stays a standby meanwhile
                log.warning("standby: cannot ask for the lock (%s)", type(error).__name__)
                await self._drop_connection()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RETRY_SECONDS)
        return False

    async def watch(self) -> None:
        """Return when the lock is lost: its connection fails, or the lock is no longer this session's."""
        assert self.connection is not None
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            try:
                held = (
                    await self.connection.execute(
                        text(
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                            "AND pid = pg_backend_pid() AND classid::bigint = (CAST(:key AS bigint) >> 32) "
                            "AND objid::bigint = (CAST(:key AS bigint) & 4294967295)"
                        ),
                        {"key": self.key},
                    )
                ).scalar()
                await self.connection.commit()
            except Exception as error:
                log.error("lost the active replica's lock: its connection failed (%s)", type(error).__name__)
                return
            if not held:
                log.error("lost the active replica's lock")
                return

    async def release(self) -> None:
        await self._drop_connection()

    async def _drop_connection(self) -> None:
        """Close the lock's connection for good (not back to the pool, where the session and its lock would live on)."""
        if self.connection is not None:
            with contextlib.suppress(Exception):
                await self.connection.invalidate()
            with contextlib.suppress(Exception):
                await self.connection.close()
            self.connection = None


class FileLockBusy(Exception):
    """Another process holds the SQLite database's lock file."""


class SqliteFileLock:
    """An exclusive lock on `<database>.lock`, held for the process's life (released by the system if it dies)."""

    def __init__(self, database_path: Path) -> None:
        self.path = database_path.with_name(database_path.name + ".lock")
        self.handle: IO[str] | None = None

    def acquire(self) -> None:
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            handle.close()
            raise FileLockBusy(str(self.path)) from error
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        if self.handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None
