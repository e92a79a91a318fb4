"""SQLite on the event loop's own thread, behind the interface SQLAlchemy's aiosqlite dialect drives.

aiosqlite runs every call (cursor, execute, fetch, close) on a worker thread and wakes the loop for each answer:
about 0.5 ms per statement here, most of a command's time. SQLite answers this bot's statements in microseconds,
so they run inline instead. The one thing that must never block the loop is waiting for another writer's lock:
connections run with `busy_timeout=0`, and a statement refused with SQLITE_BUSY is retried after an asyncio sleep
(the lock holder, often a coroutine of this very process, can then finish), until `LOCK_WAIT` has passed.

Only the dialect's connection object is replaced (through `create_async_engine(async_creator=…)`); the dialect,
its SQL and its error mapping stay SQLAlchemy's aiosqlite ones, and the exceptions are sqlite3's own.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

LOCK_WAIT = 30.0  # seconds a statement waits for another connection's write lock before failing
_T = TypeVar("_T")


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    message = str(error).lower()
    return "database is locked" in message or "database table is locked" in message


async def _patiently(call: Callable[[], _T]) -> _T:
    """Run `call`; while SQLite says another connection holds the lock, sleep (yielding the loop) and retry."""
    deadline: float | None = None
    delay = 0.0002  # short sleeps: the holder is usually a coroutine of this process, done within milliseconds
    while True:
        try:
            return call()
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
            now = time.monotonic()
            deadline = deadline or now + LOCK_WAIT
            if now >= deadline:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.002)


class InLoopCursor:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InLoopCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InLoopCursor:
        await _patiently(lambda: self._cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InLoopCursor:
        # Not retried: a refusal may come after some rows were written. The bot runs these inside transactions
        # that hold the write lock from their BEGIN IMMEDIATE, where no refusal can come.
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _ImmediateQueue:
    """SQLAlchemy sets `isolation_level` by queueing `(future, function)` on aiosqlite's private `_tx` queue;
    here the function simply runs at once."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:  # handed to the awaiting caller
            future.set_exception(error)


class InLoopConnection:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._tx = _ImmediateQueue()

    @classmethod
    async def open(cls, database: str, **kwargs: Any) -> InLoopConnection:
        kwargs["check_same_thread"] = False  # SQLAlchemy may finalize a connection from the garbage collector
        kwargs.setdefault("isolation_level", None)
        connection = sqlite3.connect(database, **kwargs)
        connection.execute("PRAGMA busy_timeout=0")  # waiting for a lock happens in _patiently, off the loop
        return cls(connection)

    @property
    def _connection(self) -> sqlite3.Connection | None:  # SQLAlchemy checks it before commit and rollback
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InLoopCursor:
        return InLoopCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> InLoopCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        await _patiently(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self._conn.close()

    def stop(self) -> None:
        self._conn.close()
